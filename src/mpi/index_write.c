/* Writing the stored index (see include/chromatica/mpi_index.h): each rank converts a
 * contiguous block of rows, an exclusive prefix sum of the entry counts places every rank's
 * entries, and all write collectively. */
#include <stdlib.h>

#include "chromatica/csr.h"
#include "chromatica/grid.h"
#include "chromatica/mpi_duplicates.h"
#include "chromatica/mpi_index.h"

#define WRITE_READ_ROWS 4096          /* dense rows read per collective call (19 MB) */
#define WRITE_PUT_ENTRIES (1LL << 26) /* entries per collective write: below 2 GiB a call */

typedef struct {
  int lead;            /* rank 0: also writes offsets[0] */
  int64_t first, rows; /* this rank's block */
  int64_t *ends;       /* rows + 1: ends[0] = 0, ends[i + 1] = local entries up to row i */
  uint16_t *bins;
  float *mass;
  int64_t nnz, cap;
  uint64_t sum; /* fingerprint terms of the block */
  uint64_t ids; /* /image_ids' fingerprint once found unique (0: not recorded) */
} block;

static chr_status reserve(block *b, int64_t need, chr_error *err) {
  if (need <= b->cap) return CHR_OK;
  int64_t cap = b->cap ? b->cap : need;
  while (cap < need) cap *= 2;
  uint16_t *bins = realloc(b->bins, (size_t)cap * sizeof *bins);
  if (bins != NULL) b->bins = bins;
  float *mass = bins != NULL ? realloc(b->mass, (size_t)cap * sizeof *mass) : NULL;
  if (mass == NULL)
    return chr_error_set(err, CHR_ENOMEM, "out of memory for %lld index entries", (long long)cap);
  b->mass = mass;
  b->cap = cap;
  return CHR_OK;
}

/* Reads, checks and converts the block's rows; every rank makes `calls` collective reads. */
static chr_status convert(chr_dataset *ds, hid_t dxpl, block *b, int64_t calls, float *rows,
                          chr_error *err) {
  chr_status local = CHR_OK;
  for (int64_t c = 0; c < calls; ++c) {
    int64_t r0 = c * WRITE_READ_ROWS, count = b->rows - r0;
    if (count > WRITE_READ_ROWS) count = WRITE_READ_ROWS;
    if (count < 0 || local != CHR_OK) count = 0;
    chr_error inner;
    chr_status s = chr_dataset_read_rows(ds, count ? b->first + r0 : 0, count, rows, dxpl, &inner);
    if (s == CHR_OK && count) s = chr_dataset_check_rows(rows, b->first + r0, count, &inner);
    if (s == CHR_OK && count) s = reserve(b, b->nnz + count * CHR_BINS, &inner);
    if (s == CHR_OK && count) {
      int64_t start = b->nnz;
      chr_csr_from_dense(rows, count, b->bins, b->mass, &b->nnz, b->ends + r0 + 1);
      for (int64_t r = 0; r < count; ++r) {
        int64_t lo = r ? b->ends[r0 + r] : start;
        b->sum += chr_csr_row_term(b->first + r0 + r, b->bins + lo, b->mass + lo,
                                   (int)(b->ends[r0 + r + 1] - lo));
      }
    }
    if (s != CHR_OK && local == CHR_OK) {
      local = s;
      *err = inner;
    }
  }
  return local;
}

/* Phase 1: every rank converts its block. */
static chr_status read_block(MPI_Comm comm, const char *path, hid_t fapl, hid_t dxpl, block *b,
                             int64_t *images, chr_error *err) {
  int rank = 0, size = 1;
  chr_dataset *ds = NULL;
  float *rows = malloc((size_t)WRITE_READ_ROWS * CHR_BINS * sizeof *rows);
  chr_status st = chr_mpi_place(comm, &rank, &size, err);
  if (st == CHR_OK) st = chr_dataset_open(path, fapl, &ds, err);
  if (st == CHR_OK && rows == NULL) st = chr_error_set(err, CHR_ENOMEM, "cannot hold a row chunk");
  if (st == CHR_OK) {
    *images = chr_dataset_images(ds);
    b->lead = rank == 0;
    b->first = *images * rank / size;
    b->rows = *images * (rank + 1) / size - b->first;
    b->ends = calloc((size_t)b->rows + 1, sizeof *b->ends);
    if (b->ends == NULL)
      st = chr_error_set(err, CHR_ENOMEM, "cannot hold %lld row ends", (long long)b->rows);
  }
  st = chr_mpi_agree(comm, st, err);
  int64_t calls = 0;
  if (st == CHR_OK)
    st = chr_mpi_agree(
        comm,
        chr_mpi_max_int64(comm, (b->rows + WRITE_READ_ROWS - 1) / WRITE_READ_ROWS, &calls, err),
        err);
  if (st == CHR_OK) st = chr_mpi_agree(comm, convert(ds, dxpl, b, calls, rows, err), err);
  chr_dataset_close(&ds);
  free(rows);
  return st;
}

/* Rank 0 checks /image_ids as a search does (unique) and every rank learns their fingerprint,
 * which the index records so that a search need not check them again; 0 when they are not
 * unique or have none (variable-length strings): a search then checks them in full. */
static chr_status ids_fingerprint(MPI_Comm comm, const char *path, uint64_t *fp, chr_error *err) {
  int rank = 0, size = 1;
  int64_t value = 0;
  chr_status st = chr_mpi_place(comm, &rank, &size, err);
  if (st == CHR_OK && rank == 0) {
    chr_dataset *ds = NULL;
    char **ids = NULL, **paths = NULL;
    chr_error inner;
    uint64_t f = 0;
    st = chr_dataset_open(path, H5P_DEFAULT, &ds, err);
    if (st == CHR_OK) st = chr_dataset_ids_fingerprint(ds, &f, err);
    if (st == CHR_OK && f != 0 && chr_dataset_read_strings(ds, &ids, &paths, &inner) == CHR_OK)
      value = (int64_t)f;
    if (ds != NULL) {
      chr_strings_free(ids, chr_dataset_images(ds));
      chr_strings_free(paths, chr_dataset_images(ds));
    }
    chr_dataset_close(&ds);
  }
  st = chr_mpi_agree(comm, st, err);
  if (st == CHR_OK) st = chr_mpi_agree(comm, chr_mpi_bcast_int64s(comm, &value, 1, err), err);
  *fp = (uint64_t)value;
  return st;
}

/* The root columns and summaries of the block, WRITE_READ_ROWS rows per collective write. */
static chr_status write_roots(MPI_Comm comm, chr_index_writer *w, const block *b, hid_t dxpl,
                              chr_error *err) {
  int64_t calls = 0;
  chr_status st =
      chr_mpi_max_int64(comm, (b->rows + WRITE_READ_ROWS - 1) / WRITE_READ_ROWS, &calls, err);
  uint16_t *roots = malloc((size_t)WRITE_READ_ROWS * CHR_BINS * sizeof *roots);
  float *centroid = malloc((size_t)WRITE_READ_ROWS * 3 * sizeof *centroid);
  uint8_t *cdf = malloc((size_t)WRITE_READ_ROWS * CHR_INDEX_CDF);
  if (st == CHR_OK && (roots == NULL || centroid == NULL || cdf == NULL))
    st = chr_error_set(err, CHR_ENOMEM, "cannot hold a roots block");
  st = chr_mpi_agree(comm, st, err);
  for (int64_t c = 0; st == CHR_OK && c < calls; ++c) {
    int64_t r0 = c * WRITE_READ_ROWS, count = b->rows - r0;
    if (count > WRITE_READ_ROWS) count = WRITE_READ_ROWS;
    if (count < 0) count = 0;
    if (count > 0) {
      const uint16_t *bins = b->bins + b->ends[r0];
      const float *mass = b->mass + b->ends[r0];
      chr_index_roots_block(b->ends + r0, bins, mass, count, roots);
      chr_index_summary_block(b->ends + r0, bins, mass, count, centroid, cdf);
    }
    /* Both writes are collective: every rank makes both whatever the first returned. */
    chr_error second;
    chr_status s = chr_index_writer_put_roots(w, b->first + r0, count, roots, dxpl, err);
    chr_status t =
        chr_index_writer_put_summaries(w, b->first + r0, count, centroid, cdf, dxpl, &second);
    if (s == CHR_OK && t != CHR_OK) *err = second;
    st = chr_mpi_agree(comm, s != CHR_OK ? s : t, err);
  }
  free(roots);
  free(centroid);
  free(cdf);
  return st;
}

/* Phase 2: place and write every rank's part; offsets are global entry positions. */
static chr_status write_block(MPI_Comm comm, const char *path, hid_t fapl, hid_t dxpl, block *b,
                              int64_t images, const chr_dups *dups, chr_index_written *out,
                              chr_error *err) {
  int64_t start = 0, total = 0, calls = 0;
  uint64_t checksum = 0;
  chr_index_writer *w = NULL;
  chr_status st = chr_mpi_check(MPI_Exscan(&b->nnz, &start, 1, MPI_INT64_T, MPI_SUM, comm), err,
                                "MPI_Exscan of the index entry counts");
  if (st == CHR_OK)
    st = chr_mpi_check(MPI_Allreduce(&b->nnz, &total, 1, MPI_INT64_T, MPI_SUM, comm), err,
                       "MPI_Allreduce of the index entry counts");
  if (st == CHR_OK)
    st = chr_mpi_check(MPI_Allreduce(&b->sum, &checksum, 1, MPI_UINT64_T, MPI_SUM, comm), err,
                       "MPI_Allreduce of the index checksum");
  if (b->lead) start = 0; /* MPI_Exscan leaves rank 0's value undefined */
  st = chr_mpi_agree(comm, st, err);
  if (st == CHR_OK)
    st = chr_mpi_agree(
        comm,
        chr_mpi_max_int64(comm, (b->nnz + WRITE_PUT_ENTRIES - 1) / WRITE_PUT_ENTRIES, &calls, err),
        err);
  if (st == CHR_OK)
    st = chr_mpi_agree(comm, chr_index_writer_create(path, fapl, images, total, &w, err), err);
  if (st == CHR_OK) chr_index_writer_set_ids(w, b->ids);
  if (st == CHR_OK) st = chr_mpi_agree(comm, write_roots(comm, w, b, dxpl, err), err);
  if (st == CHR_OK)
    st = chr_mpi_agree(comm, chr_index_writer_put_duplicates(w, dups, b->lead, checksum, dxpl, err),
                       err);
  if (st != CHR_OK) goto cleanup;
  for (int64_t r = 0; r <= b->rows; ++r) b->ends[r] += start;
  /* The first block also writes offsets[0]; the others start one row later. */
  int lead = b->lead;
  chr_status local = chr_index_writer_put_offsets(w, b->first + 1 - lead, b->rows + lead,
                                                  b->ends + 1 - lead, dxpl, err);
  for (int64_t c = 0; c < calls; ++c) {
    int64_t lo = c * WRITE_PUT_ENTRIES, n = b->nnz - lo;
    if (n > WRITE_PUT_ENTRIES) n = WRITE_PUT_ENTRIES;
    if (n < 0 || local != CHR_OK) n = 0;
    chr_status s =
        chr_index_writer_put_entries(w, start + lo, n, b->bins + lo, b->mass + lo, dxpl, err);
    if (local == CHR_OK) local = s;
  }
  st = chr_mpi_agree(comm, local, err);
  if (st == CHR_OK) st = chr_mpi_agree(comm, chr_index_writer_close(&w, checksum, err), err);
  *out = (chr_index_written){images, total, checksum};
cleanup:
  chr_index_writer_abandon(&w);
  return st;
}

chr_status chr_mpi_index_write(MPI_Comm comm, const char *path, chr_index_written *out,
                               chr_error *err) {
  block b = {0};
  hid_t fapl = -1, dxpl = -1;
  int64_t images = 0;
  chr_error inner;
  chr_status st = chr_mpi_io_lists(comm, &fapl, &dxpl, &inner);
  st = chr_mpi_agree(comm, st, &inner);
  chr_dups dups = {0};
  if (st == CHR_OK) st = read_block(comm, path, fapl, dxpl, &b, &images, &inner);
  /* The duplicate groups, found once here so that a search need not hash every row. */
  if (st == CHR_OK)
    st = chr_mpi_duplicates_rows(comm, b.first, b.rows, b.ends, b.bins, b.mass, images, &dups,
                                 &inner);
  if (st == CHR_OK) st = ids_fingerprint(comm, path, &b.ids, &inner);
  if (st == CHR_OK) st = write_block(comm, path, fapl, dxpl, &b, images, &dups, out, &inner);
  chr_dups_free(&dups);
  if (st != CHR_OK) chr_error_set(err, st, "%s", inner.message);
  if (fapl >= 0) H5Pclose(fapl);
  if (dxpl >= 0) H5Pclose(dxpl);
  free(b.ends);
  free(b.bins);
  free(b.mass);
  return st;
}
