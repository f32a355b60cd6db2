/* Loading a shard from the stored index (see include/chromatica/mpi_index.h). */
#include <stdlib.h>
#include <string.h>

#include "chromatica/csr.h"
#include "chromatica/grid.h"
#include "chromatica/mpi_index.h"

/* Rows of sparse entries read per call: bounds the buffers (about 100 entries a row on real
 * and synthetic images: 40 MB) while keeping the calls few. */
#define LOAD_CHUNK_ROWS 65536

typedef struct {
  chr_dataset *ds;
  hid_t fapl, dxpl;
  int64_t *offsets; /* layout->rows + 1 global entry positions */
  uint16_t *bins;
  float *mass;
  int64_t cap; /* entries bins and mass hold */
} loader;

static chr_status open_file(MPI_Comm comm, chr_io_mode mode, const char *path, loader *l,
                            chr_error *err) {
  chr_error inner;
  chr_status st = CHR_OK;
  l->fapl = l->dxpl = H5P_DEFAULT;
  if (mode == CHR_IO_PARALLEL) st = chr_mpi_io_lists(comm, &l->fapl, &l->dxpl, &inner);
  if (st == CHR_OK) st = chr_dataset_open(path, l->fapl, &l->ds, &inner);
  return st == CHR_OK ? st : chr_error_set(err, st, "%s: %s", path, inner.message);
}

/* The largest entry count of any chunk of this rank's rows into *widest, after checking that
 * the offsets never decrease and stay within [0, nnz] (they size the buffers). */
static chr_status widest_chunk(const chr_layout *L, const loader *l, int64_t nnz,
                               int64_t *widest, chr_error *err) {
  *widest = 0;
  for (int64_t r = 0; r <= L->rows; ++r)
    if (l->offsets[r] < (r ? l->offsets[r - 1] : 0) || l->offsets[r] > nnz)
      return chr_error_set(err, CHR_EFORMAT,
                           "/index/offsets[%lld]: %lld (expected non-decreasing, within [0, "
                           "%lld]: truncated or foreign; rebuild it with `chromatica index FILE`)",
                           (long long)(L->first_row + r), (long long)l->offsets[r],
                           (long long)nnz);
  for (int64_t c = 0; c < L->rows; c += LOAD_CHUNK_ROWS) {
    int64_t end = c + LOAD_CHUNK_ROWS < L->rows ? c + LOAD_CHUNK_ROWS : L->rows;
    if (l->offsets[end] - l->offsets[c] > *widest) *widest = l->offsets[end] - l->offsets[c];
  }
  return CHR_OK;
}

/* Reads and checks this rank's rows chunk by chunk into idx, adding their fingerprint terms
 * to *sum. Every rank makes `calls` entry reads (collective in parallel mode). */
static chr_status read_chunks(const chr_layout *L, loader *l, int64_t calls, int64_t nnz,
                              chr_index *idx, uint64_t *sum, double *read_ms, chr_error *err) {
  chr_status local = CHR_OK;
  for (int64_t c = 0; c < calls; ++c) {
    int64_t r0 = c * LOAD_CHUNK_ROWS, r1 = r0 + LOAD_CHUNK_ROWS;
    if (r1 > L->rows) r1 = L->rows;
    int64_t count = r0 < L->rows && local == CHR_OK ? r1 - r0 : 0;
    int64_t lo = count ? l->offsets[r0] : 0, n = count ? l->offsets[r1] - lo : 0;
    chr_error inner;
    double t = MPI_Wtime();
    chr_status s = chr_dataset_index_read_entries(l->ds, lo, n, l->bins, l->mass, l->dxpl, &inner);
    *read_ms += (MPI_Wtime() - t) * 1e3;
    if (s == CHR_OK && count)
      s = chr_csr_check(l->offsets + r0, l->bins, l->mass, L->first_row + r0, count, nnz, sum,
                        &inner);
    if (s == CHR_OK && count)
      s = chr_index_append_sparse(idx, l->offsets + r0, l->bins, l->mass, count, &inner);
    if (s != CHR_OK && local == CHR_OK) {
      local = s;
      *err = inner;
    }
  }
  return local;
}

/* Compares CHR_INDEX_SAMPLE_ROWS rows of /histograms with the loaded sparse rows. */
static chr_status check_sample(const chr_layout *L, loader *l, const chr_index *idx,
                               uint64_t checksum, double *read_ms, chr_error *err) {
  float dense[CHR_BINS], sparse[CHR_BINS];
  int samples = L->rows < CHR_INDEX_SAMPLE_ROWS ? (int)L->rows : CHR_INDEX_SAMPLE_ROWS;
  for (int k = 0; k < samples; ++k) {
    /* Spread over the shard, shifted by the checksum so the sample is not a fixed set. */
    int64_t r = samples == 1 ? 0
                : k == samples - 1 ? L->rows - 1
                : (int64_t)((k * L->rows + (int64_t)(checksum % (uint64_t)L->rows)) / samples);
    double t = MPI_Wtime();
    chr_status st = chr_dataset_read_rows(l->ds, L->first_row + r, 1, dense, H5P_DEFAULT, err);
    *read_ms += (MPI_Wtime() - t) * 1e3;
    if (st != CHR_OK) return st;
    const uint16_t *bins;
    const float *mass;
    int n = chr_index_support(idx, r, &bins, &mass);
    memset(sparse, 0, sizeof sparse);
    for (int j = 0; j < n; ++j) sparse[bins[j]] = mass[j];
    /* The roots of consecutive rows share pages: 16 rows cost one page per column. */
    int64_t rr = (int64_t)(checksum % (uint64_t)L->rows) + k;
    if (rr >= L->rows) rr -= samples;
    int bad = chr_index_check_roots(idx, rr);
    if (bad >= 0)
      return chr_error_set(err, CHR_EFORMAT,
                           "/index/roots row %lld, bin %d: not the root of its mass (the index "
                           "was modified; rebuild it with `chromatica index FILE`)",
                           (long long)(L->first_row + rr), bad);
    for (int b = 0; b < CHR_BINS; ++b)
      if (dense[b] != sparse[b])
        return chr_error_set(err, CHR_EFORMAT,
                             "/index row %lld differs from /histograms at bin %d (%g, expected "
                             "%g: the histograms were modified after the index was written; "
                             "rebuild it with `chromatica index FILE`)",
                             (long long)(L->first_row + r), b, (double)sparse[b], (double)dense[b]);
  }
  return CHR_OK;
}

static chr_status load(MPI_Comm comm, const chr_layout *L, loader *l, chr_index *idx,
                       double *read_ms, chr_error *err) {
  chr_index_meta meta;
  chr_status st = chr_dataset_index_meta(l->ds, &meta, err);
  if (st == CHR_OK && !meta.present) st = chr_error_set(err, CHR_EFORMAT, "/index: missing");
  l->offsets = malloc((size_t)(L->rows + 1) * sizeof *l->offsets);
  if (st == CHR_OK && l->offsets == NULL)
    st = chr_error_set(err, CHR_ENOMEM, "/index: cannot hold %lld offsets", (long long)L->rows);
  /* Agreed before the first read: in parallel mode every rank must join it. */
  st = chr_mpi_agree(comm, st, err);
  if (st != CHR_OK) return st;
  double t = MPI_Wtime();
  st = chr_dataset_index_read_offsets(l->ds, L->first_row, L->rows, l->offsets, l->dxpl, err);
  *read_ms += (MPI_Wtime() - t) * 1e3;
  int64_t widest = 0;
  if (st == CHR_OK) st = widest_chunk(L, l, meta.nnz, &widest, err);
  if (st == CHR_OK) {
    l->bins = malloc((size_t)(widest + 1) * sizeof *l->bins);
    l->mass = malloc((size_t)(widest + 1) * sizeof *l->mass);
    if (l->bins == NULL || l->mass == NULL)
      st = chr_error_set(err, CHR_ENOMEM, "/index: cannot hold %lld entries", (long long)widest);
  }
  if (st == CHR_OK) st = chr_index_reserve_entries(idx, l->offsets[L->rows] - l->offsets[0], err);
  st = chr_mpi_agree(comm, st, err);
  int64_t calls = 0;
  if (st == CHR_OK)
    st = chr_mpi_agree(comm, chr_mpi_max_int64(comm, (L->rows + LOAD_CHUNK_ROWS - 1) / LOAD_CHUNK_ROWS,
                                               &calls, err), err);
  if (st != CHR_OK) return st;
  uint64_t sum = 0, total = 0;
  st = read_chunks(L, l, calls, meta.nnz, idx, &sum, read_ms, err);
  /* Summed over the group's shards, which together hold every row once. */
  chr_status reduced = chr_mpi_check(MPI_Allreduce(&sum, &total, 1, MPI_UINT64_T, MPI_SUM,
                                                   L->group_comm),
                                     err, "MPI_Allreduce of the index checksum");
  st = chr_mpi_agree(comm, st != CHR_OK ? st : reduced, err);
  if (st == CHR_OK && total != meta.checksum)
    st = chr_error_set(err, CHR_EFORMAT,
                       "/index: the rows' checksum is %016llx (expected %016llx, its checksum "
                       "attribute: the index was truncated or modified; rebuild it with "
                       "`chromatica index FILE`)",
                       (unsigned long long)total, (unsigned long long)meta.checksum);
  if (st == CHR_OK) st = check_sample(L, l, idx, meta.checksum, read_ms, err);
  return chr_mpi_agree(comm, st, err);
}

/* Maps the stored root columns and hands them to idx (which then never builds its own). */
static chr_status map_roots(const chr_layout *L, const char *path, loader *l, chr_index *idx,
                            chr_error *err) {
  chr_roots_map *map = NULL;
  const uint16_t *roots = NULL;
  chr_error inner;
  chr_status st = chr_dataset_index_map_roots(l->ds, path, &map, &roots, &inner);
  if (st == CHR_OK)
    st = chr_index_adopt_roots(idx, roots + L->first_row, L->images, map, chr_roots_unmap, &inner);
  else
    map = NULL;
  if (st != CHR_OK) {
    chr_roots_unmap(map);
    chr_error_set(err, st, "%s: %s", path, inner.message);
  }
  return st;
}

chr_status chr_shard_load_stored(MPI_Comm comm, const chr_layout *layout, chr_io_mode mode,
                                 const char *path, chr_index **out, double *read_ms,
                                 chr_error *err) {
  loader l = {0};
  chr_index *idx = NULL;
  chr_error inner;
  *out = NULL;
  *read_ms = 0.0;
  chr_status st = open_file(comm, mode, path, &l, err);
  if (st == CHR_OK) st = chr_index_create(layout->rows, layout->first_row, &idx, err);
  if (st == CHR_OK) st = map_roots(layout, path, &l, idx, err);
  st = chr_mpi_agree(comm, st, err);
  if (st == CHR_OK) {
    st = load(comm, layout, &l, idx, read_ms, &inner);
    if (st != CHR_OK) chr_error_set(err, st, "%s: %s", path, inner.message);
  }
  chr_dataset_close(&l.ds);
  if (l.fapl != H5P_DEFAULT) H5Pclose(l.fapl);
  if (l.dxpl != H5P_DEFAULT) H5Pclose(l.dxpl);
  free(l.offsets);
  free(l.bins);
  free(l.mass);
  if (st != CHR_OK) chr_index_destroy(&idx);
  *out = idx;
  return st;
}
