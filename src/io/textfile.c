#define _POSIX_C_SOURCE 200809L
#include "chromatica/textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chromatica/paths.h"

#define TMP_PATH_MAX 4096

/* Directory part of path ("." when there is none). */
static void dir_of(const char *path, char *out, size_t size) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    snprintf(out, size, ".");
  } else if (slash == path) {
    snprintf(out, size, "/");
  } else {
    snprintf(out, size, "%.*s", (int)(slash - path), path);
  }
}

chr_status chr_text_read(const char *path, long long max_bytes, const char *what,
                         const char *expected, const char *per, char **text, size_t *size,
                         chr_error *err) {
  *text = NULL;
  *size = 0;
  struct stat info;
  if (stat(path, &info) != 0)
    return chr_error_set(err, CHR_EIO, "%s: cannot open %s (%s)", path, what, strerror(errno));
  if (!S_ISREG(info.st_mode))
    return chr_error_set(err, CHR_EINVAL, "%s: not a regular file (expected %s)", path, expected);
  if (info.st_size > max_bytes)
    return chr_error_set(err, CHR_EINVAL, "%s: %lld bytes (expected at most %lld%s)", path,
                         (long long)info.st_size, max_bytes, per);
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return chr_error_set(err, CHR_EIO, "%s: cannot open %s (%s)", path, what, strerror(errno));
  size_t n = (size_t)info.st_size;
  char *buf = malloc(n + 1);
  chr_status st = CHR_OK;
  if (buf == NULL || fread(buf, 1, n, f) != n) {
    st = chr_error_set(err, CHR_EIO, "%s: cannot read %s (%s)", path, what,
                       buf == NULL ? "out of memory" : "short read");
    free(buf);
  } else {
    buf[n] = '\0';
    *text = buf;
    *size = n;
  }
  fclose(f);
  return st;
}

chr_status chr_text_write_atomic(const char *path, const char *text, const char *what,
                                 chr_error *err) {
  char tmp[TMP_PATH_MAX], suffix[32];
  chr_error inner;
  int fd = -1;
  snprintf(suffix, sizeof suffix, ".tmp.%ld", (long)getpid());
  if (chr_temp_create(path, suffix, 0, tmp, sizeof tmp, &fd, &inner) != CHR_OK)
    return chr_error_set(err, CHR_EIO, "%s %s: %s", what, path, inner.message);
  FILE *f = fdopen(fd, "w");
  if (f == NULL) {
    int saved = errno;
    close(fd);
    remove(tmp);
    return chr_error_set(err, CHR_EIO, "%s %s: cannot be written (%s)", what, path,
                         strerror(saved));
  }
  size_t len = strlen(text);
  int failed = fwrite(text, 1, len, f) != len || fputc('\n', f) == EOF || fflush(f) != 0 ||
               fsync(fileno(f)) != 0;
  int saved = errno;
  if (fclose(f) != 0 && !failed) {
    failed = 1;
    saved = errno;
  }
  if (!failed && rename(tmp, path) != 0) {
    failed = 1;
    saved = errno;
  }
  if (failed) {
    remove(tmp);
    return chr_error_set(err, CHR_EIO, "%s %s: cannot be written (%s)", what, path,
                         strerror(saved));
  }
  return CHR_OK;
}

static const char *kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

chr_status chr_path_check_writable(const char *path, chr_error *err) {
  if (path == NULL || path[0] == '\0')
    return chr_error_set(err, CHR_EINVAL, "output path: empty (expected a file path)");
  /* The final rename would fail on a directory only after the work, and would replace a
   * device or FIFO: anything but a regular file is refused now. */
  struct stat info;
  if (stat(path, &info) == 0 && !S_ISREG(info.st_mode))
    return chr_error_set(err, CHR_EINVAL,
                         "%s: exists and is %s (expected a regular file to replace or a new path)",
                         path, kind_of(info.st_mode));
  char dir[TMP_PATH_MAX], tmp[TMP_PATH_MAX];
  dir_of(path, dir, sizeof dir);
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  if (strlen(base) > NAME_MAX)
    return chr_error_set(err, CHR_EINVAL,
                         "%s: file name of %zu bytes too long (expected at most %d)", path,
                         strlen(base), NAME_MAX);
  /* The probe goes through chr_temp_create, so a name too long for a suffix is probed under
   * the short name the real write will use, and only a failure to create blames the
   * directory. */
  chr_error inner;
  char suffix[32];
  int fd = -1;
  snprintf(suffix, sizeof suffix, ".tmp.%ld", (long)getpid());
  if (chr_temp_create(path, suffix, 0, tmp, sizeof tmp, &fd, &inner) != CHR_OK) {
    if (access(dir, W_OK) != 0)
      return chr_error_set(err, CHR_EIO, "%s: directory '%s' cannot be written (%s)", path, dir,
                           strerror(errno));
    return chr_error_set(err, CHR_EIO, "%s: %s", path, inner.message);
  }
  close(fd);
  unlink(tmp);
  return CHR_OK;
}
