/* chr_path_* and chr_temp_create (issue 13), in a fresh directory under /tmp: the same file
 * however spelled, where a build listing reaches, and temporary files that are never created
 * through an existing link and stay short. */
#define _XOPEN_SOURCE 700
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chromatica/paths.h"

static char root[128];

/* root/name, in a static ring of buffers so that several can be used in one call. */
static const char *at(const char *name) {
  static char ring[8][PATH_MAX];
  static int next = 0;
  char *out = ring[next++ % 8];
  snprintf(out, PATH_MAX, "%s/%s", root, name);
  return out;
}

static void touch(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int setup(void **state) {
  (void)state;
  snprintf(root, sizeof root, "/tmp/chr_test_paths_XXXXXX");
  if (mkdtemp(root) == NULL) return -1;
  mkdir(at("sub"), 0755);
  mkdir(at("sub/deep"), 0755);
  mkdir(at("sub/.hidden"), 0755);
  touch(at("ds.h5"), "data");
  touch(at("other.h5"), "data");
  if (link(at("ds.h5"), at("hard.h5")) != 0 || symlink("ds.h5", at("link.h5")) != 0) return -1;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  return system(cmd) == 0 ? 0 : -1;
}

static void same_file_however_spelled(void **state) {
  (void)state;
  assert_true(chr_path_same_file(at("ds.h5"), at("ds.h5")));
  assert_true(chr_path_same_file(at("sub/../ds.h5"), at("ds.h5")));
  assert_true(chr_path_same_file(at("hard.h5"), at("ds.h5")));
  assert_true(chr_path_same_file(at("link.h5"), at("ds.h5")));
  assert_false(chr_path_same_file(at("other.h5"), at("ds.h5")));
  /* Neither exists: compared by resolved path; one exists: different files. */
  assert_true(chr_path_same_file(at("new.json"), at("sub/../new.json")));
  assert_false(chr_path_same_file(at("new.json"), at("new2.json")));
  assert_false(chr_path_same_file(at("new.json"), at("ds.h5")));
}

static void distinct_message_names_both(void **state) {
  (void)state;
  chr_error err;
  assert_int_equal(chr_path_check_distinct("--out", at("hard.h5"), "--dataset", at("ds.h5"), &err),
                   CHR_EINVAL);
  assert_non_null(strstr(err.message, "--out '"));
  assert_non_null(strstr(err.message, "hard.h5' is the same file as --dataset '"));
  assert_non_null(strstr(err.message, "(refusing to overwrite an input)"));
  assert_int_equal(chr_path_check_distinct("--out", at("r.json"), "--dataset", at("ds.h5"), &err),
                   CHR_OK);
}

static void listed_under_like_build(void **state) {
  (void)state;
  assert_true(chr_path_listed_under(at("new.h5"), root, 0));
  assert_true(chr_path_listed_under(at("sub/../ds.h5"), root, 0));
  assert_false(chr_path_listed_under(at(".hidden.h5"), root, 0));
  assert_false(chr_path_listed_under(at("sub/x.h5"), root, 0));
  assert_true(chr_path_listed_under(at("sub/deep/x.h5"), root, 1));
  assert_false(chr_path_listed_under(at("sub/.hidden/x.h5"), root, 1));
  assert_false(chr_path_listed_under(at("ds.h5"), at("sub"), 1));
  assert_false(chr_path_listed_under(at("no/such/x.h5"), root, 1));
}

static void temp_is_exclusive_and_never_follows(void **state) {
  (void)state;
  char tmp[PATH_MAX];
  int fd = -1;
  chr_error err;
  /* A link named like the temporary file is refused and its target left alone. */
  touch(at("target"), "sentinel");
  assert_int_equal(symlink("target", at("out.h5.partial")), 0);
  assert_int_equal(chr_temp_create(at("out.h5"), ".partial", 1, tmp, sizeof tmp, &fd, &err),
                   CHR_EIO);
  assert_non_null(strstr(err.message, "out.h5.partial' exists and is a symbolic link"));
  struct stat info;
  assert_int_equal(stat(at("target"), &info), 0);
  assert_int_equal(info.st_size, 8);
  /* A directory too; a stale regular file is replaced when asked, refused otherwise. */
  assert_int_equal(mkdir(at("d.h5.partial"), 0755), 0);
  assert_int_equal(chr_temp_create(at("d.h5"), ".partial", 1, tmp, sizeof tmp, &fd, &err), CHR_EIO);
  assert_non_null(strstr(err.message, "exists and is a directory"));
  touch(at("s.h5.partial"), "stale");
  assert_int_equal(chr_temp_create(at("s.h5"), ".partial", 0, tmp, sizeof tmp, &fd, &err), CHR_EIO);
  assert_int_equal(chr_temp_create(at("s.h5"), ".partial", 1, tmp, sizeof tmp, &fd, &err), CHR_OK);
  assert_string_equal(tmp, at("s.h5.partial"));
  assert_int_equal(fstat(fd, &info), 0);
  assert_int_equal(info.st_size, 0);
  close(fd);
  unlink(tmp);
}

static void temp_name_stays_short(void **state) {
  (void)state;
  char name[300], path[PATH_MAX], tmp[PATH_MAX];
  int fd = -1;
  chr_error err;
  memset(name, 'x', 255);
  name[255] = '\0';
  snprintf(path, sizeof path, "%s/%s", root, name);
  assert_int_equal(chr_temp_create(path, ".partial", 1, tmp, sizeof tmp, &fd, &err), CHR_OK);
  const char *base = strrchr(tmp, '/') + 1;
  assert_true(strncmp(base, ".chr-", 5) == 0);
  assert_true(strlen(base) <= CHR_TEMP_NAME_MAX);
  assert_non_null(strstr(base, ".partial"));
  assert_true(strncmp(tmp, root, strlen(root)) == 0); /* in the same directory */
  close(fd);
  unlink(tmp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(same_file_however_spelled),
      cmocka_unit_test(distinct_message_names_both),
      cmocka_unit_test(listed_under_like_build),
      cmocka_unit_test(temp_is_exclusive_and_never_follows),
      cmocka_unit_test(temp_name_stays_short),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
