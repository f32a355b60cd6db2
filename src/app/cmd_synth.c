/* `chromatica synth --images N [--seed S] -o FILE`: a deterministic synthetic dataset, each
 * rank making and writing (collectively, MPI-IO) a contiguous block of rows. Image i depends on
 * (seed, i) only, so the file is the same byte content whatever the number of ranks. It is
 * written to a temporary file beside the output (see partial.h) and renamed when complete. */
#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "chromatica/app.h"
#include "chromatica/dataset.h"
#include "chromatica/mpi_collect.h"
#include "chromatica/mpi_index.h"
#include "chromatica/mpi_layout.h"
#include "chromatica/synth.h"
#include "partial.h"

#define SYNTH_PUT_ROWS 4096 /* rows per collective put: bounds each rank's buffers (~19 MB) */

static const char usage[] =
    "usage: chromatica synth --images N [--seed S] [--no-index] -o FILE\n"
    "  Writes N synthetic images (ids img0000000.., 1-4 colour blobs each) to the HDF5 FILE.\n"
    "  --images N   number of images, 1 .. 2^40\n"
    "  --seed S     unsigned 64-bit seed (default 0); same N and S give the same file\n"
    "  --no-index   write format 1 (no stored search index; see `chromatica index`)\n"
    "  -o FILE      output path (replaced only when the new file is complete)\n";

typedef struct {
  long long images;
  uint64_t seed;
  const char *output;
  int no_index;
} synth_args;

/* Returns 0 when parsed, 1 for --help, 2 on a usage error (reported by rank 0). */
static int parse_args(int argc, char **argv, int rank, synth_args *args) {
  const char *images = NULL, *seed = NULL;
  for (int i = 1; i < argc; ++i) {
    const char **slot = NULL;
    if (strcmp(argv[i], "--help") == 0) return 1;
    if (strcmp(argv[i], "--no-index") == 0) {
      args->no_index = 1;
      continue;
    }
    if (strcmp(argv[i], "--images") == 0) slot = &images;
    if (strcmp(argv[i], "--seed") == 0) slot = &seed;
    if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) slot = &args->output;
    if (slot == NULL) {
      if (rank == 0) fprintf(stderr, "chromatica synth: unknown option '%s'\n%s", argv[i], usage);
      return 2;
    }
    if (i + 1 >= argc) {
      if (rank == 0) fprintf(stderr, "chromatica synth: option '%s' needs a value\n", argv[i]);
      return 2;
    }
    *slot = argv[++i];
  }
  if (images == NULL || args->output == NULL) {
    if (rank == 0)
      fprintf(stderr, "chromatica synth: %s is required\n%s", images ? "-o" : "--images", usage);
    return 2;
  }
  char *end = NULL;
  errno = 0;
  args->images = strtoll(images, &end, 10);
  if (end == images || *end != '\0' || errno != 0 || args->images < 1 ||
      args->images > (1LL << 40)) {
    if (rank == 0)
      fprintf(stderr,
              "chromatica synth: --images '%s': not a count (expected an integer from 1 "
              "to 1099511627776)\n",
              images);
    return 2;
  }
  if (seed != NULL) {
    errno = 0;
    unsigned long long value = strtoull(seed, &end, 10);
    if (end == seed || *end != '\0' || errno != 0 || seed[0] == '-' || seed[0] == '+') {
      if (rank == 0)
        fprintf(stderr,
                "chromatica synth: --seed '%s': not a seed (expected an integer from 0 "
                "to 18446744073709551615)\n",
                seed);
      return 2;
    }
    args->seed = (uint64_t)value;
  }
  return 0;
}

typedef struct {
  chr_image_columns cols;
  char *text; /* ids then paths, fixed slots */
  char **ids, **paths;
  int id_len, path_len;
} synth_buffers;

static chr_status buffers_alloc(synth_buffers *b, long long images, chr_error *err) {
  char probe[64];
  b->id_len = snprintf(probe, sizeof probe, "img%07lld", images - 1) + 1;
  b->path_len = snprintf(probe, sizeof probe, "synthetic/img%07lld.png", images - 1) + 1;
  size_t rows = SYNTH_PUT_ROWS;
  int cols = chr_image_columns_alloc(&b->cols, rows);
  b->text = malloc(rows * (size_t)(b->id_len + b->path_len));
  b->ids = malloc(rows * sizeof *b->ids);
  b->paths = malloc(rows * sizeof *b->paths);
  if (!cols || !b->text || !b->ids || !b->paths)
    return chr_error_set(err, CHR_ENOMEM, "out of memory for %zu rows of buffers", rows);
  for (size_t i = 0; i < rows; ++i) {
    b->ids[i] = b->text + i * (size_t)b->id_len;
    b->paths[i] = b->text + rows * (size_t)b->id_len + i * (size_t)b->path_len;
  }
  return CHR_OK;
}

static void buffers_free(synth_buffers *b) {
  chr_image_columns_free(&b->cols);
  free(b->text);
  free(b->ids);
  free(b->paths);
}

static void make_rows(const synth_args *args, long long first, long long count, synth_buffers *b) {
  chr_image_row image;
  for (long long i = 0; i < count; ++i) {
    long long row = first + i;
    chr_synth_image_make(args->seed, row, &image);
    chr_image_columns_set(&b->cols, (size_t)i, &image);
    snprintf(b->ids[i], (size_t)b->id_len, "img%07lld", row);
    snprintf(b->paths[i], (size_t)b->path_len, "synthetic/img%07lld.png", row);
  }
}

/* All ranks agree whether any failed (err then holds the lowest failing rank's message). */
static int any_failed(int failed, MPI_Comm comm, chr_error *err) {
  return chr_mpi_agree(comm, failed ? err->code : CHR_OK, err) != CHR_OK;
}

/* Makes and writes this rank's rows [first, first+count) in puts collective writes; *stopped
 * is the signal all ranks agreed to stop on (checked before each write). Collective. */
static chr_status write_all(const synth_args *args, long long first, long long count, int64_t puts,
                            chr_dataset_writer *writer, hid_t dxpl, synth_buffers *buf,
                            MPI_Comm comm, int *stopped, chr_error *err) {
  int failed = 0;
  for (long long p = 0; p < puts && !(*stopped = chr_stop_agree(comm)); ++p) {
    long long at = first + p * SYNTH_PUT_ROWS;
    long long n = count - p * SYNTH_PUT_ROWS;
    n = n < 0 ? 0 : (n > SYNTH_PUT_ROWS ? SYNTH_PUT_ROWS : n);
    make_rows(args, at, n, buf);
    /* Even after a failure this rank keeps calling put: the writes are collective. */
    chr_error put_err;
    if (chr_dataset_writer_put(writer, n ? at : 0, n, buf->cols.hists, buf->ids, buf->paths,
                               buf->cols.palettes, buf->cols.weights, dxpl, &put_err) != CHR_OK &&
        !failed) {
      chr_error_set(err, put_err.code, "-o %s: %s", args->output, put_err.message);
      failed = 1;
    }
  }
  return any_failed(failed, comm, err) ? err->code : CHR_OK;
}

/* Rank 0: the complete file replaces the output. */
static chr_status move_into_place(const char *partial, const char *output, chr_error *err) {
  if (rename(partial, output) == 0) return CHR_OK;
  return chr_error_set(err, CHR_EIO, "-o %s: cannot move '%s' into place (%s)", output, partial,
                       strerror(errno));
}

int chr_cmd_synth(int argc, char **argv, const chr_command_context *cmd) {
  MPI_Comm comm = cmd->comm;
  int rank = cmd->rank, size = cmd->size;
  synth_args args = {0, 0, NULL, 0};
  int parsed = parse_args(argc, argv, rank, &args);
  if (parsed != 0) return chr_args_exit_code(parsed, rank, usage);
  if (!chr_stop_install() && rank == 0)
    fprintf(stderr, "chromatica synth: warning: cannot install the SIGTERM handler\n");

  double start = chr_mpi_seconds();
  int exit_code = 1, stopped = 0;
  chr_error err;
  chr_error_clear(&err);
  synth_buffers buf = {0};
  chr_dataset_writer *writer = NULL;
  hid_t fapl = H5I_INVALID_HID, dxpl = H5I_INVALID_HID;
  chr_partial partial = {.reserve_fd = -1};
  long long base = args.images / size, extra = args.images % size;
  long long first = rank * base + (rank < extra ? rank : extra);
  long long count = base + (rank < extra ? 1 : 0);
  int64_t puts_local = (count + SYNTH_PUT_ROWS - 1) / SYNTH_PUT_ROWS, puts = 0;

  int failed = buffers_alloc(&buf, args.images, &err) != CHR_OK;
  if (!failed && chr_mpi_io_lists(comm, &fapl, &dxpl, &err) != CHR_OK) failed = 1;
  if (any_failed(failed, comm, &err)) goto cleanup;
  if (any_failed(chr_mpi_max_int64(comm, puts_local, &puts, &err) != CHR_OK, comm, &err))
    goto cleanup;
  /* The file is written under a temporary name and renamed when complete, so the old output
   * survives any failure (a full disk) or a stop. */
  int64_t row_bytes = CHR_BINS * 4 + CHR_PALETTE_MAX * 7 + buf.id_len + buf.path_len;
  if (chr_partial_create(comm, "-o", args.output, (int64_t)args.images * row_bytes, &partial,
                         &err) != CHR_OK)
    goto cleanup;
  chr_error inner;
  failed = chr_dataset_writer_create(partial.name, fapl, args.images, buf.id_len, buf.path_len, 1,
                                     &writer, &inner) != CHR_OK;
  if (failed) chr_error_set(&err, inner.code, "-o %s: %s", args.output, inner.message);
  if (any_failed(failed, comm, &err)) goto cleanup;
  if (write_all(&args, first, count, puts, writer, dxpl, &buf, comm, &stopped, &err) != CHR_OK ||
      stopped)
    goto cleanup;
  chr_partial_release(&partial);
  failed = chr_dataset_writer_close(&writer, &inner) != CHR_OK;
  if (failed) chr_error_set(&err, inner.code, "-o %s: %s", args.output, inner.message);
  if (any_failed(failed, comm, &err)) goto cleanup;
  /* The stored index (format 2), written into the temporary file before it moves into place. */
  chr_index_written written;
  if (!args.no_index && chr_mpi_index_write(comm, partial.name, &written, &inner) != CHR_OK) {
    chr_error_set(&err, inner.code, "-o %s: %s", args.output, inner.message);
    goto cleanup;
  }
  if (any_failed(rank == 0 && move_into_place(partial.name, args.output, &err) != CHR_OK, comm,
                 &err))
    goto cleanup;
  partial.name[0] = '\0';
  double seconds = chr_mpi_seconds() - start;
  if (rank == 0)
    printf("chromatica synth: wrote %lld images (seed %" PRIu64
           ") to %s with %d rank%s in %.3f s\n",
           args.images, args.seed, args.output, size, size == 1 ? "" : "s", seconds);
  exit_code = 0;
cleanup:
  chr_partial_release(&partial);
  chr_dataset_writer_abandon(&writer);
  chr_partial_discard(&partial, rank == 0);
  if (dxpl >= 0) H5Pclose(dxpl);
  if (fapl >= 0) H5Pclose(fapl);
  buffers_free(&buf);
  if (stopped) exit_code = CHR_EXIT_STOPPED;
  /* Every failure path was agreed by all ranks, so rank 0 holds the one message to print. */
  if (stopped && rank == 0)
    fprintf(stderr,
            "chromatica synth: stopped by %s; %s was not written (its old content, if "
            "any, is intact)\n",
            chr_stop_name(stopped), args.output);
  else if (exit_code != 0 && rank == 0)
    fprintf(stderr, "chromatica synth: %s\n", err.message);
  return exit_code;
}
