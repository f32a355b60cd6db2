/* `chromatica index FILE`: adds the stored index (format version 2, spec section 11) to an
 * existing dataset, or rebuilds a stale one. Atomic by copy and rename: rank 0 copies FILE to
 * a temporary file beside it (created exclusively), all ranks write the index into the copy
 * collectively, and rank 0 renames it over FILE only when it is complete, so a failure, a
 * stop or a crash at any point leaves FILE as it was (the price is one copy of the file). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chromatica/app.h"
#include "chromatica/grid.h"
#include "chromatica/mpi_collect.h"
#include "chromatica/mpi_index.h"
#include "partial.h"

static const char usage[] =
    "usage: chromatica index FILE\n"
    "  Adds the stored search index (format version 2) to the dataset FILE, or rebuilds it.\n"
    "  FILE is replaced atomically (copy, index, rename); a symbolic link keeps pointing to it.\n";

/* Rank 0: the real path of FILE (a link's target), which must be a writable regular file and
 * a valid dataset; its size and mode. */
static chr_status check_input(const char *file, char *real, struct stat *info, chr_error *err) {
  chr_error inner;
  chr_dataset *ds = NULL;
  if (realpath(file, real) == NULL)
    return chr_error_set(err, CHR_EIO, "%s: cannot be resolved (%s)", file, strerror(errno));
  if (stat(real, info) != 0 || !S_ISREG(info->st_mode))
    return chr_error_set(err, CHR_EINVAL, "%s: not a regular file (expected an HDF5 dataset)",
                         file);
  if ((info->st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0)
    return chr_error_set(err, CHR_EIO,
                         "%s: read-only (mode %04o; expected a writable file, as "
                         "the index replaces it)",
                         file, (unsigned)(info->st_mode & 07777));
  chr_status st = chr_dataset_open(real, H5P_DEFAULT, &ds, &inner);
  chr_dataset_close(&ds);
  return st == CHR_OK ? st : chr_error_set(err, st, "%s: %s", file, inner.message);
}

/* Rank 0: copies from to the (empty, exclusively created) file to, with from's mode. */
static chr_status copy_file(const char *from, const char *to, const struct stat *info,
                            chr_error *err) {
  chr_status st = CHR_OK;
  int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_NOFOLLOW);
  if (in < 0 || out < 0) {
    st = chr_error_set(err, CHR_EIO, "cannot open '%s' to copy it (%s)", in < 0 ? from : to,
                       strerror(errno));
    goto cleanup;
  }
  off_t left = info->st_size;
  while (left > 0) {
    ssize_t n =
        copy_file_range(in, NULL, out, NULL, (size_t)(left < (1 << 30) ? left : 1 << 30), 0);
    if (n <= 0) {
      st = chr_error_set(err, CHR_EIO, "copying to '%s' failed (%s)", to,
                         n == 0 ? "unexpected end of file" : strerror(errno));
      goto cleanup;
    }
    left -= n;
  }
  if (fchmod(out, info->st_mode & 07777) != 0)
    st = chr_error_set(err, CHR_EIO, "'%s': cannot set its mode (%s)", to, strerror(errno));
cleanup:
  if (in >= 0) close(in);
  if (out >= 0 && close(out) != 0 && st == CHR_OK)
    st = chr_error_set(err, CHR_EIO, "'%s': cannot be closed (%s)", to, strerror(errno));
  return st;
}

/* Rank 0: makes sure the written copy is on disk, then renames it over real. */
static chr_status move_into_place(const char *partial, const char *real, const char *file,
                                  chr_error *err) {
  int fd = open(partial, O_RDONLY | O_NOFOLLOW);
  int synced = fd >= 0 && fsync(fd) == 0;
  if (fd >= 0) close(fd);
  if (!synced || rename(partial, real) != 0)
    return chr_error_set(err, CHR_EIO, "%s: cannot move '%s' into place (%s)", file, partial,
                         strerror(errno));
  return CHR_OK;
}

static int run(const char *file, int rank, int size, MPI_Comm comm, chr_error *err) {
  char real[PATH_MAX] = "";
  struct stat info = {0};
  chr_partial partial = {.reserve_fd = -1};
  chr_index_written written = {0};
  int ok = 0, stopped = 0;
  double start = chr_mpi_seconds();
  chr_status st = rank == 0 ? check_input(file, real, &info, err) : CHR_OK;
  int64_t bytes = (int64_t)info.st_size;
  if (chr_mpi_agree(comm, st, err) != CHR_OK) goto cleanup;
  /* The copy plus the index: at most 1.5 x the histograms' bytes, usually a tenth of them. */
  if (chr_partial_create(comm, "index", rank == 0 ? real : file, bytes + bytes / 4, &partial,
                         err) != CHR_OK)
    goto cleanup;
  st = rank == 0 ? copy_file(real, partial.name, &info, err) : CHR_OK;
  if (chr_mpi_agree(comm, st, err) != CHR_OK || (stopped = chr_stop_agree(comm)) != 0) goto cleanup;
  chr_partial_release(&partial);
  if (chr_mpi_index_write(comm, partial.name, &written, err) != CHR_OK) {
    chr_error inner = *err;
    chr_error_set(err, inner.code, "%s: %s", file, inner.message);
    goto cleanup;
  }
  if ((stopped = chr_stop_agree(comm)) != 0) goto cleanup;
  st = rank == 0 ? move_into_place(partial.name, real, file, err) : CHR_OK;
  if (chr_mpi_agree(comm, st, err) != CHR_OK) goto cleanup;
  partial.name[0] = '\0';
  if (rank == 0)
    printf(
        "chromatica index: wrote the index of %lld images (%lld entries, %.1f MB) into %s with "
        "%d rank%s in %.3f s\n",
        (long long)written.rows, (long long)written.nnz,
        (8.0 * (double)(written.rows + 1) + 6.0 * (double)written.nnz +
         2.0 * CHR_BINS * (double)written.rows) /
            1e6,
        file, size, size == 1 ? "" : "s", chr_mpi_seconds() - start);
  ok = 1;
cleanup:
  chr_partial_discard(&partial, rank == 0);
  if (stopped)
    chr_error_set(err, CHR_EIO, "stopped by %s; %s was not changed", chr_stop_name(stopped), file);
  return ok ? 0 : stopped ? CHR_EXIT_STOPPED : 1;
}

int chr_cmd_index(int argc, char **argv, const chr_command_context *cmd) {
  MPI_Comm comm = cmd->comm;
  int rank = cmd->rank, size = cmd->size;
  chr_error err;
  chr_error_clear(&err);
  if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    if (rank == 0) fputs(usage, stdout);
    return 0;
  }
  if (argc != 2 || argv[1][0] == '-') {
    if (rank == 0) fprintf(stderr, "chromatica index: expected one dataset FILE\n%s", usage);
    return 2;
  }
  if (!chr_stop_install() && rank == 0)
    fprintf(stderr, "chromatica index: warning: cannot install the SIGTERM handler\n");
  int code = run(argv[1], rank, size, comm, &err);
  if (code != 0 && rank == 0) fprintf(stderr, "chromatica index: %s\n", err.message);
  return code;
}
