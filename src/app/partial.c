#define _POSIX_C_SOURCE 200809L
#include "partial.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "chromatica/mpi_collect.h"
#include "chromatica/paths.h"
#include "chromatica/textfile.h"

/* The signal that asked this process to stop (0: none). A handler can only reach
 * process-wide state, so this flag is the module's one global; it is read, never reset. */
static volatile sig_atomic_t stop_signal = 0;

static void note_stop(int signo) {
  stop_signal = signo;
}

int chr_stop_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = note_stop;
  sa.sa_flags = SA_RESTART; /* writes in progress finish; the stop comes between them */
  sigemptyset(&sa.sa_mask);
  return sigaction(SIGTERM, &sa, NULL) == 0 && sigaction(SIGINT, &sa, NULL) == 0;
}

int chr_stop_agree(MPI_Comm comm) {
  chr_error ignored;
  int64_t any = 0;
  if (chr_mpi_max_int64(comm, (int64_t)stop_signal, &any, &ignored) != CHR_OK) return 0;
  return (int)any;
}

const char *chr_stop_name(int signo) {
  return signo == SIGINT ? "SIGINT" : "SIGTERM";
}

/* An unlinked file beside output holding CHR_PARTIAL_RESERVE_BYTES (same file system). */
static chr_status reserve_space(const char *option, const char *output, int *fd, chr_error *err) {
  char name[4200];
  chr_error inner;
  if (chr_temp_create(output, ".reserve", 0, name, sizeof name, fd, &inner) != CHR_OK)
    return chr_error_set(err, CHR_EIO, "%s %s", option, inner.message);
  unlink(name);
  int failed = posix_fallocate(*fd, 0, CHR_PARTIAL_RESERVE_BYTES);
  /* A file system without fallocate (glibc then writes) is not a reason to refuse. */
  if (failed == ENOSPC || failed == EDQUOT) {
    close(*fd);
    *fd = -1;
    return chr_error_set(err, CHR_EIO,
                         "%s %s: not enough free space (%s; expected at least %d MiB free)", option,
                         output, strerror(failed), CHR_PARTIAL_RESERVE_BYTES >> 20);
  }
  return CHR_OK;
}

/* Free space (statvfs) of the file system holding the file at name, for an unprivileged
 * writer: enough for expected_bytes and the reserve? Unknown free space is not refused. */
static chr_status check_space(const char *option, const char *output, const char *name,
                              int64_t expected_bytes, chr_error *err) {
  struct statvfs fs;
  if (statvfs(name, &fs) != 0) return CHR_OK;
  double free_bytes = (double)fs.f_bavail * (double)fs.f_frsize;
  double need = (double)expected_bytes + CHR_PARTIAL_RESERVE_BYTES;
  if (free_bytes >= need) return CHR_OK;
  return chr_error_set(err, CHR_EIO,
                       "%s %s: not enough free space (%.1f MB free; expected at least %.1f MB: "
                       "%.1f MB for the file and %d MiB to close it safely)",
                       option, output, free_bytes / 1e6, need / 1e6, expected_bytes / 1e6,
                       CHR_PARTIAL_RESERVE_BYTES >> 20);
}

static chr_status create_on_root(const char *option, const char *output, int64_t expected_bytes,
                                 chr_partial *p, chr_error *err) {
  chr_error inner;
  int fd = -1;
  chr_status st = chr_path_check_writable(output, &inner);
  if (st != CHR_OK) return chr_error_set(err, st, "%s %s", option, inner.message);
  st = chr_temp_create(output, ".partial", 1, p->name, sizeof p->name, &fd, &inner);
  if (st != CHR_OK) return chr_error_set(err, st, "%s %s: %s", option, output, inner.message);
  if (close(fd) != 0)
    st = chr_error_set(err, CHR_EIO, "%s %s: '%s' cannot be closed", option, output, p->name);
  if (st == CHR_OK) st = check_space(option, output, p->name, expected_bytes, err);
  if (st == CHR_OK) st = reserve_space(option, output, &p->reserve_fd, err);
  if (st != CHR_OK) unlink(p->name);
  return st;
}

chr_status chr_partial_create(MPI_Comm comm, const char *option, const char *output,
                              int64_t expected_bytes, chr_partial *p, chr_error *err) {
  int rank = 0, ranks = 1;
  p->name[0] = '\0';
  p->reserve_fd = -1;
  chr_status st = chr_mpi_place(comm, &rank, &ranks, err);
  if (st != CHR_OK) return st;
  if (rank == 0) st = create_on_root(option, output, expected_bytes, p, err);
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) {
    p->name[0] = '\0';
    return st;
  }
  char *name = p->name;
  int64_t length = (int64_t)strlen(p->name) + 1;
  st = chr_mpi_bcast_bytes(comm, &name, &length, err);
  if (st == CHR_OK && rank != 0) {
    if (length > (int64_t)sizeof p->name || name[length - 1] != '\0')
      st = chr_error_set(err, CHR_EMPI, "%s %s: temporary name not received", option, output);
    else
      memcpy(p->name, name, (size_t)length);
  }
  if (rank != 0 && name != p->name) free(name);
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) chr_partial_discard(p, rank == 0);
  return st;
}

void chr_partial_release(chr_partial *p) {
  if (p->reserve_fd >= 0) close(p->reserve_fd);
  p->reserve_fd = -1;
}

void chr_partial_discard(chr_partial *p, int remove_file) {
  chr_partial_release(p);
  if (remove_file && p->name[0] != '\0') unlink(p->name);
  p->name[0] = '\0';
}
