#define _POSIX_C_SOURCE 200809L
#include "chromatica/textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

chr_status chr_text_write_atomic(const char *path, const char *text, const char *what,
                                 chr_error *err) {
  char tmp[TMP_PATH_MAX];
  int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof tmp)
    return chr_error_set(err, CHR_EIO, "%s %s: path too long", what, path);
  FILE *f = fopen(tmp, "w");
  if (f == NULL)
    return chr_error_set(err, CHR_EIO, "%s %s: cannot create '%s' (%s)", what, path, tmp,
                         strerror(errno));
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
  int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof tmp)
    return chr_error_set(err, CHR_EIO, "%s: path too long", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0)
    return chr_error_set(err, CHR_EIO, "%s: directory '%s' cannot be written (%s)", path, dir,
                         strerror(errno));
  close(fd);
  unlink(tmp);
  return CHR_OK;
}
