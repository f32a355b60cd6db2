#define _XOPEN_SOURCE 700
#include "chromatica/paths.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SHORT_NAME_TRIES 100

/* Splits path into its directory ("." when none) and its last component. */
static void split(const char *path, char *dir, size_t size, const char **base) {
  const char *slash = strrchr(path, '/');
  *base = slash ? slash + 1 : path;
  if (slash == NULL)
    snprintf(dir, size, ".");
  else if (slash == path)
    snprintf(dir, size, "/");
  else
    snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

/* The canonical directory of path (realpath of its directory part) and its last component;
 * 0 when the directory cannot be resolved. */
static int resolve_dir(const char *path, char *dir, const char **base) {
  char raw[PATH_MAX];
  split(path, raw, sizeof raw, base);
  return realpath(raw, dir) != NULL;
}

int chr_path_same_file(const char *a, const char *b) {
  struct stat sa, sb;
  int has_a = stat(a, &sa) == 0, has_b = stat(b, &sb) == 0;
  if (has_a && has_b) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  if (has_a || has_b) return 0;
  /* Neither exists yet (two outputs): same directory and same name. */
  char da[PATH_MAX], db[PATH_MAX];
  const char *na, *nb;
  return resolve_dir(a, da, &na) && resolve_dir(b, db, &nb) && strcmp(da, db) == 0 &&
         strcmp(na, nb) == 0;
}

chr_status chr_path_check_distinct(const char *out_opt, const char *out, const char *in_opt,
                                   const char *in, chr_error *err) {
  if (!chr_path_same_file(out, in)) return CHR_OK;
  return chr_error_set(err, CHR_EINVAL,
                       "%s '%s' is the same file as %s '%s' (refusing to overwrite an input)",
                       out_opt, out, in_opt, in);
}

int chr_path_listed_under(const char *path, const char *dir, int recursive) {
  char where[PATH_MAX], top[PATH_MAX];
  const char *base;
  if (!resolve_dir(path, where, &base) || base[0] == '.' || base[0] == '\0' ||
      realpath(dir, top) == NULL)
    return 0;
  if (strcmp(where, top) == 0) return 1;
  size_t n = strlen(top);
  if (!recursive) return 0;
  if (strcmp(top, "/") == 0)
    n = 0;
  else if (strncmp(where, top, n) != 0 || where[n] != '/')
    return 0;
  /* Hidden directories are not descended into; a resolved path has no links left. */
  for (const char *p = where + n; *p; ++p)
    if (p[0] == '/' && p[1] == '.') return 0;
  return 1;
}

static const char *kind_of(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

static int open_new(const char *name) {
  return open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
}

/* "<path><suffix>", replacing a stale regular file when asked. */
static chr_status create_named(const char *tmp, int replace_stale, int *fd, chr_error *err) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if ((*fd = open_new(tmp)) >= 0) return CHR_OK;
    if (errno != EEXIST) break;
    struct stat info;
    if (lstat(tmp, &info) != 0) continue; /* gone meanwhile: try again */
    if (!S_ISREG(info.st_mode) || !replace_stale)
      return chr_error_set(err, CHR_EIO,
                           "'%s' exists and is %s (a temporary name that is never followed or "
                           "replaced; remove it)",
                           tmp, S_ISREG(info.st_mode) ? "a regular file" : kind_of(info.st_mode));
    if (unlink(tmp) != 0) break;
  }
  return chr_error_set(err, CHR_EIO, "'%s': cannot be created (%s)", tmp, strerror(errno));
}

/* ".chr-XXXXXX<suffix>" in path's directory, a new name at each try. */
static chr_status create_short(const char *path, const char *base, const char *suffix, char *tmp,
                               size_t size, int *fd, chr_error *err) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  unsigned long seed = (unsigned long)now.tv_nsec ^ ((unsigned long)getpid() << 12);
  for (int attempt = 0; attempt < SHORT_NAME_TRIES; ++attempt) {
    seed = seed * 6364136223846793005UL + 1442695040888963407UL;
    int n = snprintf(tmp, size, "%.*s.chr-%06lx%s", (int)(base - path), path,
                     (seed >> 20) & 0xffffffUL, suffix);
    if (n < 0 || (size_t)n >= size) return chr_error_set(err, CHR_EIO, "%s: path too long", path);
    if ((*fd = open_new(tmp)) >= 0) return CHR_OK;
    if (errno != EEXIST) break;
  }
  return chr_error_set(err, CHR_EIO, "'%s': cannot be created (%s)", tmp, strerror(errno));
}

chr_status chr_temp_create(const char *path, const char *suffix, int replace_stale, char *tmp,
                           size_t size, int *fd, chr_error *err) {
  *fd = -1;
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  if (strlen(base) + strlen(suffix) > CHR_TEMP_NAME_MAX)
    return create_short(path, base, suffix, tmp, size, fd, err);
  int n = snprintf(tmp, size, "%s%s", path, suffix);
  if (n < 0 || (size_t)n >= size) return chr_error_set(err, CHR_EIO, "%s: path too long", path);
  return create_named(tmp, replace_stale, fd, err);
}
