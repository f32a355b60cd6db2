/* `chromatica build DIR... -o FILE`: turns image files into a histogram dataset. Rank 0 lists
 * the files (sorted by stored path) and broadcasts the list; the ranks then work through it in
 * rounds of `--chunk-files` files per rank, each rank taking a contiguous block of the round and
 * its OpenMP threads decoding them, and every round's images are appended collectively in list
 * order. The rows therefore never
 * depend on the number of ranks or threads. The file is written beside the output and renamed
 * into place only when complete. */
#include <errno.h>
#include <hdf5.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "chromatica/app.h"
#include "chromatica/build_log.h"
#include "chromatica/dataset.h"
#include "chromatica/image.h"
#include "chromatica/image_files.h"
#include "chromatica/image_row.h"
#include "chromatica/mpi_collect.h"
#include "chromatica/mpi_index.h"
#include "chromatica/mpi_layout.h"
#include "chromatica/paths.h"
#include "chromatica/textfile.h"
#include "partial.h"

#define EXIT_SKIPPED_STRICT 3

static const char usage[] =
    "usage: chromatica build DIR|FILE... -o OUT.h5 [--recursive] [--max-side N]\n"
    "                        [--max-pixels N] [--log LOG.json] [--strict] [--progress]\n"
    "                        [--chunk-files N] [--no-index]\n"
    "  Indexes every JPEG, PNG, WebP, BMP and GIF file found (by content, not by name).\n"
    "  --recursive       descend into subdirectories\n"
    "  --max-side N      downsize so the longer side is at most N pixels (default 256, 1..2048)\n"
    "  --max-pixels N    skip images with more pixels than N (default 100000000)\n"
    "  --log FILE        JSON build log (default OUT.h5.log.json)\n"
    "  --strict          exit with code 3 when any file was skipped (default: 0)\n"
    "  --progress        print a line per round on stderr\n"
    "  --chunk-files N   files per rank per collective write (default 256)\n"
    "  --no-index        write format 1 (no stored search index; see `chromatica index`)\n";

typedef struct {
  char **inputs;
  int n_inputs;
  const char *output, *log;
  int recursive, strict, progress, no_index;
  long long max_side, max_pixels, chunk_files;
  char log_buf[4096];
} build_args;

/* 0 parsed, 1 help, 2 usage error (reported by rank 0). a->inputs must hold argc entries. */
static int parse_args(int argc, char **argv, int rank, build_args *a) {
  const char *numbers[3] = {NULL, NULL, NULL};
  const char *names[3] = {"--max-side", "--max-pixels", "--chunk-files"};
  const long long limits[3][2] = {{1, 2048}, {1, 1LL << 40}, {1, 1 << 20}};
  long long *targets[3] = {&a->max_side, &a->max_pixels, &a->chunk_files};
  for (int i = 1; i < argc; ++i) {
    const char **slot = NULL;
    int *flag = NULL;
    if (strcmp(argv[i], "--help") == 0) return 1;
    if (strcmp(argv[i], "--recursive") == 0) flag = &a->recursive;
    if (strcmp(argv[i], "--strict") == 0) flag = &a->strict;
    if (strcmp(argv[i], "--progress") == 0) flag = &a->progress;
    if (strcmp(argv[i], "--no-index") == 0) flag = &a->no_index;
    if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) slot = &a->output;
    if (strcmp(argv[i], "--log") == 0) slot = &a->log;
    for (int k = 0; k < 3; ++k)
      if (strcmp(argv[i], names[k]) == 0) slot = &numbers[k];
    if (flag != NULL) {
      *flag = 1;
    } else if (slot != NULL && i + 1 < argc) {
      *slot = argv[++i];
    } else if (slot != NULL || argv[i][0] == '-') {
      if (rank == 0)
        fprintf(stderr, "chromatica build: %s '%s'\n%s",
                slot ? "missing value for option" : "unknown option", argv[i], usage);
      return 2;
    } else {
      a->inputs[a->n_inputs++] = argv[i];
    }
  }
  for (int k = 0; k < 3; ++k) {
    if (numbers[k] == NULL || chr_args_whole(numbers[k], limits[k][0], limits[k][1], targets[k]))
      continue;
    if (rank == 0)
      fprintf(stderr,
              "chromatica build: %s '%s': invalid (expected a whole number from %lld to %lld)\n",
              names[k], numbers[k], limits[k][0], limits[k][1]);
    return 2;
  }
  if (a->n_inputs == 0 || a->output == NULL) {
    if (rank == 0)
      fprintf(stderr, "chromatica build: %s is required\n%s",
              a->n_inputs == 0 ? "an input directory or file" : "-o", usage);
    return 2;
  }
  if (a->log == NULL) {
    snprintf(a->log_buf, sizeof a->log_buf, "%s.log.json", a->output);
    a->log = a->log_buf;
  }
  return 0;
}

/* The file list every rank holds: entries of a broadcast buffer "path\0name\0problem\0". */
typedef struct {
  char *buffer;
  int64_t size, count;
  const char **path, **name, **problem; /* problem "" = none */
  int64_t ignored[4];                   /* links, hidden, other, duplicates */
  int name_len;                         /* longest name + 1 */
} file_table;

static chr_status pack_list(const chr_image_file_list *list, file_table *t, chr_error *err) {
  size_t size = 0;
  for (int64_t i = 0; i < list->count; ++i) {
    const chr_image_file *f = &list->files[i];
    size += strlen(f->path) + strlen(f->name) + (f->problem ? strlen(f->problem) : 0) + 3;
  }
  if ((t->buffer = malloc(size)) == NULL)
    return chr_error_set(err, CHR_ENOMEM, "out of memory packing %lld file names",
                         (long long)list->count);
  char *at = t->buffer;
  for (int64_t i = 0; i < list->count; ++i) {
    const chr_image_file *f = &list->files[i];
    const char *parts[3] = {f->path, f->name, f->problem ? f->problem : ""};
    for (int k = 0; k < 3; ++k) {
      size_t n = strlen(parts[k]) + 1;
      memcpy(at, parts[k], n);
      at += n;
    }
  }
  t->size = (int64_t)size;
  t->ignored[0] = list->ignored_links;
  t->ignored[1] = list->ignored_hidden;
  t->ignored[2] = list->ignored_other;
  t->ignored[3] = list->ignored_duplicates;
  return CHR_OK;
}

static chr_status unpack_list(file_table *t, chr_error *err) {
  int64_t strings = 0;
  for (int64_t i = 0; i < t->size; ++i) strings += t->buffer[i] == '\0';
  t->count = strings / 3;
  t->path = malloc((size_t)(t->count ? t->count : 1) * sizeof *t->path);
  t->name = malloc((size_t)(t->count ? t->count : 1) * sizeof *t->name);
  t->problem = malloc((size_t)(t->count ? t->count : 1) * sizeof *t->problem);
  if (t->path == NULL || t->name == NULL || t->problem == NULL)
    return chr_error_set(err, CHR_ENOMEM, "out of memory for %lld file names", (long long)t->count);
  const char *at = t->buffer;
  t->name_len = 2;
  for (int64_t i = 0; i < t->count; ++i) {
    const char **slots[3] = {&t->path[i], &t->name[i], &t->problem[i]};
    for (int k = 0; k < 3; ++k) {
      *slots[k] = at;
      at += strlen(at) + 1;
    }
    int len = (int)strlen(t->name[i]) + 1;
    if (len > t->name_len) t->name_len = len;
  }
  return CHR_OK;
}

static void file_table_free(file_table *t) {
  free(t->buffer);
  free(t->path);
  free(t->name);
  free(t->problem);
}

/* Rank 0: neither output may be an input, however spelled, nor inside an input directory where
 * the listing reaches it, nor the other output. */
static chr_status check_outputs(const build_args *a, chr_error *err) {
  const char *names[2] = {"-o", "--log"}, *outs[2] = {a->output, a->log};
  chr_status st = CHR_OK;
  if (chr_path_same_file(a->log, a->output))
    st = chr_error_set(err, CHR_EINVAL,
                       "--log '%s' is the same file as -o '%s' (expected two different files)",
                       a->log, a->output);
  for (int k = 0; st == CHR_OK && k < 2; ++k) {
    for (int i = 0; st == CHR_OK && i < a->n_inputs; ++i) {
      st = chr_path_check_distinct(names[k], outs[k], "input", a->inputs[i], err);
      if (st == CHR_OK && chr_path_listed_under(outs[k], a->inputs[i], a->recursive))
        st = chr_error_set(err, CHR_EINVAL,
                           "%s '%s' is inside input '%s', where it would be indexed (refusing to "
                           "overwrite an input; expected an output outside the inputs)",
                           names[k], outs[k], a->inputs[i]);
    }
  }
  return st;
}

/* Rank 0, after listing: an existing output reached through another name (a hard link) is
 * one of the listed files. */
static chr_status check_not_listed(const build_args *a, const chr_image_file_list *list,
                                   chr_error *err) {
  const char *names[2] = {"-o", "--log"}, *outs[2] = {a->output, a->log};
  for (int k = 0; k < 2; ++k) {
    struct stat info;
    if (stat(outs[k], &info) != 0) continue;
    for (int64_t i = 0; i < list->count; ++i)
      if (list->files[i].ino == (unsigned long long)info.st_ino &&
          list->files[i].dev == (unsigned long long)info.st_dev)
        return chr_error_set(err, CHR_EINVAL,
                             "%s '%s' is the same file as input file '%s' (refusing to overwrite "
                             "an input)",
                             names[k], outs[k], list->files[i].path);
  }
  return CHR_OK;
}

/* Rank 0 lists the inputs; every rank ends with the same table. Collective. */
static chr_status share_file_list(const build_args *a, int rank, MPI_Comm comm, file_table *t,
                                  chr_error *err) {
  chr_status st = CHR_OK;
  if (rank == 0) {
    chr_image_file_list list;
    chr_error inner;
    st = check_outputs(a, err);
    if (st == CHR_OK && (st = chr_path_check_writable(a->output, &inner)) != CHR_OK)
      chr_error_set(err, st, "-o %s", inner.message);
    if (st == CHR_OK && (st = chr_path_check_writable(a->log, &inner)) != CHR_OK)
      chr_error_set(err, st, "--log %s", inner.message);
    if (st == CHR_OK) st = chr_image_files_find(a->inputs, a->n_inputs, a->recursive, &list, err);
    if (st == CHR_OK) {
      st = check_not_listed(a, &list, err);
      if (st == CHR_OK) st = pack_list(&list, t, err);
      chr_image_file_list_free(&list);
    }
  }
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) return st;
  st = chr_mpi_bcast_bytes(comm, &t->buffer, &t->size, err);
  if (st == CHR_OK) st = chr_mpi_bcast_int64s(comm, t->ignored, 4, err);
  if ((st = chr_mpi_agree(comm, st, err)) != CHR_OK) return st;
  return chr_mpi_agree(comm, unpack_list(t, err), err);
}

/* One round's worth of this rank's files and what became of them. */
typedef struct {
  chr_image_row *rows;
  int *built;
  char (*reason)[CHR_ERROR_MESSAGE_MAX];
  chr_image_columns cols; /* the built rows, packed for the writer */
  char **names;
  char *skips; /* "name\0reason\0" of every file this rank skipped, in file order */
  size_t skips_size, skips_cap;
} round_work;

static chr_status work_alloc(round_work *w, int64_t capacity, chr_error *err) {
  size_t n = (size_t)capacity;
  w->rows = malloc(n * sizeof *w->rows);
  w->built = malloc(n * sizeof *w->built);
  w->reason = malloc(n * sizeof *w->reason);
  int cols = chr_image_columns_alloc(&w->cols, n);
  w->names = malloc(n * sizeof *w->names);
  if (!w->rows || !w->built || !w->reason || !cols || !w->names)
    return chr_error_set(err, CHR_ENOMEM, "out of memory for %lld files per round",
                         (long long)capacity);
  return CHR_OK;
}

static void work_free(round_work *w) {
  free(w->rows);
  free(w->built);
  free(w->reason);
  chr_image_columns_free(&w->cols);
  free(w->names);
  free(w->skips);
}

static chr_status note_skip(round_work *w, const char *name, const char *reason, chr_error *err) {
  size_t need = strlen(name) + strlen(reason) + 2;
  if (w->skips_size + need > w->skips_cap) {
    size_t cap = (w->skips_cap ? 2 * w->skips_cap : 4096) + need;
    char *grown = realloc(w->skips, cap);
    if (grown == NULL) return chr_error_set(err, CHR_ENOMEM, "out of memory listing skipped files");
    w->skips = grown;
    w->skips_cap = cap;
  }
  memcpy(w->skips + w->skips_size, name, strlen(name) + 1);
  w->skips_size += strlen(name) + 1;
  memcpy(w->skips + w->skips_size, reason, strlen(reason) + 1);
  w->skips_size += strlen(reason) + 1;
  return CHR_OK;
}

/* Decodes files [first, first+count) of the table with the rank's threads, then packs the
 * built rows (in file order) for the collective write. Returns how many were built. */
static chr_status process_files(const build_args *a, const file_table *t, int64_t first,
                                int64_t count, round_work *w, int64_t *built, chr_error *err) {
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t i = 0; i < count; ++i) {
    const char *problem = t->problem[first + i];
    chr_error e;
    chr_error_clear(&e);
    chr_image img = {0};
    chr_status st = problem[0] ? chr_error_set(&e, CHR_EIO, "%s", problem)
                               : chr_image_load(t->path[first + i], a->max_pixels, &img, &e);
    if (st == CHR_OK) {
      st = chr_image_row_build(img.rgba, img.width, img.height, (int)a->max_side, &w->rows[i], &e);
      chr_image_free(&img);
    }
    w->built[i] = st == CHR_OK;
    memcpy(w->reason[i], e.message, sizeof w->reason[i]);
  }
  int64_t n = 0;
  for (int64_t i = 0; i < count; ++i) {
    const char *name = t->name[first + i];
    if (!w->built[i]) {
      chr_status st = note_skip(w, name, w->reason[i], err);
      if (st != CHR_OK) return st;
      continue;
    }
    chr_image_columns_set(&w->cols, (size_t)n, &w->rows[i]);
    w->names[n++] = (char *)name;
  }
  *built = n;
  return CHR_OK;
}

/* Works through the table in rounds; *total = images written; *stopped = the signal all ranks
 * agreed to stop on (checked before each round). Collective. */
static chr_status run_rounds(const build_args *a, const file_table *t, MPI_Comm comm,
                             chr_dataset_writer *writer, hid_t dxpl, round_work *w, int64_t *total,
                             int *stopped, chr_error *err) {
  int rank = 0, ranks = 1;
  chr_status placed = chr_mpi_place(comm, &rank, &ranks, err);
  if (placed != CHR_OK) return placed;
  int64_t chunk = a->chunk_files, per_round = chunk * ranks;
  int64_t rounds = (t->count + per_round - 1) / per_round;
  int64_t *counts = malloc((size_t)ranks * sizeof *counts);
  chr_status st =
      chr_mpi_agree(comm, counts ? CHR_OK : chr_error_set(err, CHR_ENOMEM, "out of memory"), err);
  *total = 0;
  for (int64_t r = 0; st == CHR_OK && r < rounds && !(*stopped = chr_stop_agree(comm)); ++r) {
    /* The round's files split evenly into contiguous blocks, so a short last round still
     * keeps every rank busy and rows stay in file order. */
    int64_t round_first = r * per_round;
    int64_t round_count = t->count - round_first < per_round ? t->count - round_first : per_round;
    int64_t first = round_first + round_count * rank / ranks;
    int64_t count = round_first + round_count * (rank + 1) / ranks - first;
    int64_t built = 0;
    st = chr_mpi_agree(comm, process_files(a, t, first, count, w, &built, err), err);
    if (st == CHR_OK)
      st = chr_mpi_agree(comm, chr_mpi_allgather_int64(comm, built, counts, err), err);
    if (st != CHR_OK) break;
    int64_t offset = *total, round_total = 0;
    for (int q = 0; q < ranks; ++q) {
      if (q < rank) offset += counts[q];
      round_total += counts[q];
    }
    if (round_total > 0) {
      chr_error inner;
      st = chr_dataset_writer_grow(writer, *total + round_total, &inner);
      if (st != CHR_OK) chr_error_set(err, st, "-o %s: %s", a->output, inner.message);
      st = chr_mpi_agree(comm, st, err);
      /* Every rank takes part in the collective write, with or without rows of its own. */
      if (st == CHR_OK) {
        st = chr_dataset_writer_put(writer, built ? offset : 0, built, w->cols.hists, w->names,
                                    w->names, w->cols.palettes, w->cols.weights, dxpl, &inner);
        if (st != CHR_OK) chr_error_set(err, st, "-o %s: %s", a->output, inner.message);
        st = chr_mpi_agree(comm, st, err);
      }
    }
    *total += round_total;
    int64_t done = (r + 1) * per_round < t->count ? (r + 1) * per_round : t->count;
    if (st == CHR_OK && a->progress && rank == 0)
      fprintf(stderr, "chromatica build: %lld of %lld files examined, %lld images written\n",
              (long long)done, (long long)t->count, (long long)*total);
  }
  free(counts);
  return st;
}

static int skip_by_path(const void *a, const void *b) {
  return strcmp(((const chr_build_skip *)a)->path, ((const chr_build_skip *)b)->path);
}

/* Rank 0: the skipped files from the gathered "name\0reason\0" pairs, in file order (the
 * list is sorted by name, and ranks sent theirs round by round). */
static chr_build_skip *parse_skips(char *all, int64_t size, int64_t *n) {
  int64_t strings = 0;
  for (int64_t i = 0; i < size; ++i) strings += all[i] == '\0';
  *n = strings / 2;
  chr_build_skip *skips = malloc((size_t)(*n ? *n : 1) * sizeof *skips);
  if (skips == NULL) return NULL;
  char *at = all;
  for (int64_t i = 0; i < *n; ++i) {
    skips[i].path = at;
    at += strlen(at) + 1;
    skips[i].reason = at;
    at += strlen(at) + 1;
  }
  qsort(skips, (size_t)*n, sizeof *skips, skip_by_path);
  return skips;
}

static void print_summary(const chr_build_summary *s) {
  printf(
      "chromatica build: %lld images from %lld files written to %s in %.2f s "
      "(%.1f images/s, %d rank%s x %d thread%s)\n",
      (long long)s->images_built, (long long)s->files_found, s->output, s->total_ms / 1e3,
      s->build_ms > 0 ? s->images_built / (s->build_ms / 1e3) : 0.0, s->ranks,
      s->ranks == 1 ? "" : "s", s->threads_per_rank, s->threads_per_rank == 1 ? "" : "s");
  if (s->n_skipped > 0)
    printf("chromatica build: skipped %lld file%s, for example %s: %s\n", (long long)s->n_skipped,
           s->n_skipped == 1 ? "" : "s", s->skipped[0].path, s->skipped[0].reason);
  if (s->ignored_links + s->ignored_hidden + s->ignored_other > 0)
    printf("chromatica build: ignored %lld symbolic links, %lld hidden and %lld other entries\n",
           (long long)s->ignored_links, (long long)s->ignored_hidden, (long long)s->ignored_other);
  if (s->ignored_duplicates > 0)
    printf(
        "chromatica build: %lld files reached through two inputs were indexed once, under "
        "the first\n",
        (long long)s->ignored_duplicates);
}

/* Rank 0, after the dataset is closed: moves it into place (or removes it when empty) and
 * writes the log. */
static chr_status finish_on_root(const build_args *a, const char *partial, chr_build_summary *s,
                                 char *skips, int64_t skips_size, chr_error *err) {
  chr_build_skip *list = parse_skips(skips, skips_size, &s->n_skipped);
  if (list == NULL) return chr_error_set(err, CHR_ENOMEM, "out of memory listing skipped files");
  s->skipped = list;
  chr_status st = CHR_OK;
  if (s->images_built == 0) {
    remove(partial);
    st = chr_error_set(err, CHR_EINVAL, "no image could be indexed (%lld files skipped; see %s)",
                       (long long)s->n_skipped, a->log);
  } else if (rename(partial, a->output) != 0) {
    st = chr_error_set(err, CHR_EIO, "-o %s: cannot move '%s' into place (%s)", a->output, partial,
                       strerror(errno));
  }
  /* The log is written even when nothing could be indexed: it says why. */
  if (st != CHR_OK) s->error = err->message;
  chr_error log_err;
  chr_status logged = chr_build_log_write(a->log, s, &log_err);
  if (st == CHR_OK && logged != CHR_OK) {
    *err = log_err;
    st = logged;
  }
  if (st == CHR_OK) print_summary(s);
  free(list);
  return st;
}

/* Rank 0 after a failure past the checks: the log says why (a full disk, a signal). */
static void log_failure(const build_args *a, chr_build_summary *s, const char *why) {
  s->error = why;
  s->n_skipped = 0;
  s->skipped = NULL;
  chr_error ignored;
  chr_build_log_write(a->log, s, &ignored); /* the first failure is the one reported */
}

/* Writes every round to the temporary file and closes it; on failure or a stop the file is
 * abandoned (rank 0 removes it later). Collective. */
static chr_status write_dataset(const build_args *a, const file_table *t, MPI_Comm comm,
                                chr_partial *partial, round_work *work, int64_t *total,
                                int *stopped, chr_error *err) {
  hid_t fapl = H5I_INVALID_HID, dxpl = H5I_INVALID_HID;
  chr_dataset_writer *writer = NULL;
  chr_status st = work_alloc(work, a->chunk_files, err);
  if (st == CHR_OK) st = chr_mpi_io_lists(comm, &fapl, &dxpl, err);
  st = chr_mpi_agree(comm, st, err);
  /* Upper bound of the file: every listed file indexed (row, palette, id and path). */
  int64_t row_bytes = CHR_BINS * 4 + CHR_PALETTE_MAX * 7 + 2 * (int64_t)t->name_len;
  if (st == CHR_OK)
    st = chr_partial_create(comm, "-o", a->output, t->count * row_bytes, partial, err);
  if (st == CHR_OK)
    st = chr_mpi_agree(comm,
                       chr_dataset_writer_create(partial->name, fapl, 0, t->name_len, t->name_len,
                                                 1, &writer, err),
                       err);
  if (st == CHR_OK) st = run_rounds(a, t, comm, writer, dxpl, work, total, stopped, err);
  chr_partial_release(partial); /* the space closing may need */
  if (writer != NULL && st == CHR_OK && !*stopped) {
    chr_error close_err;
    chr_status closed = chr_dataset_writer_close(&writer, &close_err);
    if (closed != CHR_OK) chr_error_set(err, closed, "-o %s: %s", a->output, close_err.message);
    st = chr_mpi_agree(comm, closed, err);
    /* The stored index (format 2), written before the file moves into place. */
    chr_index_written written;
    if (st == CHR_OK && !a->no_index && *total > 0 &&
        (st = chr_mpi_index_write(comm, partial->name, &written, &close_err)) != CHR_OK)
      chr_error_set(err, st, "-o %s: %s", a->output, close_err.message);
  }
  chr_dataset_writer_abandon(&writer);
  if (dxpl >= 0) H5Pclose(dxpl);
  if (fapl >= 0) H5Pclose(fapl);
  return st;
}

int chr_cmd_build(int argc, char **argv, const chr_command_context *cmd) {
  MPI_Comm comm = cmd->comm;
  int rank = cmd->rank, ranks = cmd->size;
  build_args a = {.max_side = CHR_MAX_SIDE_DEFAULT,
                  .max_pixels = CHR_IMAGE_MAX_PIXELS_DEFAULT,
                  .chunk_files = 256,
                  .inputs = calloc((size_t)argc, sizeof(char *))};
  int parsed = a.inputs == NULL ? 2 : parse_args(argc, argv, rank, &a);
  if (a.inputs == NULL && rank == 0) fprintf(stderr, "chromatica build: out of memory\n");
  if (parsed != 0) {
    free(a.inputs);
    return chr_args_exit_code(parsed, rank, usage);
  }
  if (!chr_stop_install() && rank == 0)
    fprintf(stderr, "chromatica build: warning: cannot install the SIGTERM handler\n");

  double start = chr_mpi_seconds();
  chr_error err;
  chr_error_clear(&err);
  file_table table = {0};
  round_work work = {0};
  chr_partial partial = {.reserve_fd = -1};
  char *skips = NULL;
  int64_t skips_size = 0, total = 0;
  int stopped = 0;
  chr_build_summary s = {.output = a.output,
                         .inputs = a.inputs,
                         .n_inputs = a.n_inputs,
                         .recursive = a.recursive,
                         .max_side = (int)a.max_side,
                         .ranks = ranks,
                         .threads_per_rank = omp_get_max_threads(),
                         .max_pixels = a.max_pixels};

  chr_status st = share_file_list(&a, rank, comm, &table, &err);
  int checked = st == CHR_OK; /* the outputs are not inputs: the log may be written */
  double listed = chr_mpi_seconds();
  if (st == CHR_OK) st = write_dataset(&a, &table, comm, &partial, &work, &total, &stopped, &err);
  double built = chr_mpi_seconds();
  if (st == CHR_OK && !stopped)
    st =
        chr_mpi_gather_bytes(comm, work.skips, (int64_t)work.skips_size, &skips, &skips_size, &err);
  s.files_found = table.count;
  s.images_built = total;
  s.ignored_links = table.ignored[0];
  s.ignored_hidden = table.ignored[1];
  s.ignored_other = table.ignored[2];
  s.ignored_duplicates = table.ignored[3];
  s.list_ms = (listed - start) * 1e3;
  s.build_ms = (built - listed) * 1e3;
  s.total_ms = (chr_mpi_seconds() - start) * 1e3;
  int logged = st == CHR_OK && !stopped; /* finish_on_root writes the log */
  if (logged && rank == 0) {
    st = finish_on_root(&a, partial.name, &s, skips, skips_size, &err);
    if (st == CHR_OK) partial.name[0] = '\0'; /* moved into place */
  }
  /* Skipped files only change the exit code with --strict; rank 0 knows the count. */
  int64_t outcome = stopped        ? CHR_EXIT_STOPPED
                    : st != CHR_OK ? 1
                                   : (a.strict && s.n_skipped > 0 ? EXIT_SKIPPED_STRICT : 0);
  if (chr_mpi_bcast_int64s(comm, &outcome, 1, &err) != CHR_OK && outcome == 0) outcome = 1;
  chr_partial_discard(&partial, rank == 0); /* its name is cleared once moved into place */
  if (rank == 0 && stopped)
    snprintf(err.message, sizeof err.message,
             "stopped by %s; %s was not written (its old content, if any, is intact)",
             chr_stop_name(stopped), a.output);
  if (rank == 0 && (st != CHR_OK || stopped)) {
    if (checked && !logged) log_failure(&a, &s, err.message);
    fprintf(stderr, "chromatica build: %s\n", err.message);
  }
  free(skips);
  free(a.inputs);
  work_free(&work);
  file_table_free(&table);
  return (int)outcome;
}
