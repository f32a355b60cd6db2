/* Loading a shard from the stored index (see include/chromatica/mpi_index.h). */
#include <stdlib.h>
#include <string.h>

#include "chromatica/csr.h"
#include "chromatica/grid.h"
#include "chromatica/mpi_index.h"

typedef struct {
  chr_dataset *ds;
  hid_t fapl, dxpl;
  int64_t *offsets; /* layout->rows + 1 global entry positions */
} loader;

static chr_status open_file(MPI_Comm comm, chr_io_mode mode, const char *path, loader *l,
                            chr_error *err) {
  chr_error inner;
  chr_status st = CHR_OK;
  l->fapl = l->dxpl = H5P_DEFAULT;
  if (mode == CHR_IO_PARALLEL) {
    /* The open below is collective: every rank enters it or none does. */
    st = chr_mpi_agree(comm, chr_mpi_io_lists(comm, &l->fapl, &l->dxpl, &inner), &inner);
  }
  if (st == CHR_OK) st = chr_dataset_open(path, l->fapl, &l->ds, &inner);
  return st == CHR_OK ? st : chr_error_set(err, st, "%s: %s", path, inner.message);
}

/* Checks that this rank's offsets never decrease and stay within [0, nnz] before they index
 * the mapped entries. */
static chr_status check_offsets(const chr_layout *L, const loader *l, int64_t nnz, chr_error *err) {
  for (int64_t r = 0; r <= L->rows; ++r)
    if (l->offsets[r] < (r ? l->offsets[r - 1] : 0) || l->offsets[r] > nnz)
      return chr_error_set(err, CHR_EFORMAT,
                           "/index/offsets[%lld]: %lld (expected non-decreasing, within [0, "
                           "%lld]: truncated or foreign; rebuild it with `chromatica index FILE`)",
                           (long long)(L->first_row + r), (long long)l->offsets[r], (long long)nnz);
  return CHR_OK;
}

/* Two mappings released together by the index: the sparse entries (bins, mass) or the
 * summaries (centroid, cdf). */
typedef struct {
  chr_roots_map *bins, *mass;
} entry_maps;

static void release_entries(void *p) {
  entry_maps *m = p;
  if (m == NULL) return;
  chr_roots_unmap(m->bins);
  chr_roots_unmap(m->mass);
  free(m);
}

/* Maps the stored summaries (index_version 2) and hands this shard's columns to idx, which
 * then computes none. */
static chr_status adopt_summaries(const chr_layout *L, const char *path, loader *l, chr_index *idx,
                                  chr_error *err) {
  entry_maps *maps = calloc(1, sizeof *maps);
  const float *centroid = NULL;
  const uint8_t *cdf = NULL;
  chr_status st = maps == NULL ? chr_error_set(err, CHR_ENOMEM, "out of memory") : CHR_OK;
  if (st == CHR_OK)
    st = chr_dataset_index_map_summaries(l->ds, path, &maps->bins, &centroid, &maps->mass, &cdf,
                                         err);
  if (st == CHR_OK)
    st = chr_index_adopt_summaries(idx, centroid + L->first_row, cdf + L->first_row, L->images,
                                   maps, release_entries, err);
  if (st != CHR_OK) release_entries(maps);
  return st;
}

/* Maps the sparse entries, checks this rank's rows in place (adding their fingerprint terms
 * to *sum) and hands them to idx: nothing is copied, and the pages come from the page cache. */
static chr_status adopt_entries(const chr_layout *L, const char *path, loader *l, int64_t nnz,
                                chr_index *idx, uint64_t *sum, chr_error *err) {
  entry_maps *maps = calloc(1, sizeof *maps);
  const uint16_t *bins = NULL;
  const float *mass = NULL;
  chr_status st = maps == NULL ? chr_error_set(err, CHR_ENOMEM, "out of memory") : CHR_OK;
  if (st == CHR_OK)
    st = chr_dataset_index_map_entries(l->ds, path, nnz, &maps->bins, &bins, &maps->mass, &mass,
                                       err);
  int64_t lo = st == CHR_OK ? l->offsets[0] : 0;
  double max_row_sum = 0.0; /* found by the check: the index need not add the rows again */
  if (st == CHR_OK)
    st = chr_csr_check_summed(l->offsets, bins + lo, mass + lo, L->first_row, L->rows, nnz, sum,
                              &max_row_sum, err);
  if (st == CHR_OK)
    st = chr_index_adopt_sparse_summed(idx, l->offsets, bins, mass, L->rows, max_row_sum, maps,
                                       release_entries, err);
  if (st != CHR_OK) release_entries(maps);
  return st;
}

/* Compares CHR_INDEX_SAMPLE_ROWS rows of /histograms with the loaded sparse rows. */
static chr_status check_sample(const chr_layout *L, loader *l, const chr_index *idx,
                               uint64_t checksum, double *read_ms, chr_error *err) {
  float dense[CHR_BINS], sparse[CHR_BINS];
  int samples = L->rows < CHR_INDEX_SAMPLE_ROWS ? (int)L->rows : CHR_INDEX_SAMPLE_ROWS;
  for (int k = 0; k < samples; ++k) {
    /* Spread over the shard, shifted by the checksum so the sample is not a fixed set. */
    int64_t r = samples == 1 ? 0
                : k == samples - 1
                    ? L->rows - 1
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
    /* Computed summaries (index_version 1) pass trivially; stored ones are sampled as roots. */
    bad = chr_index_check_summary(idx, rr);
    if (bad >= 0)
      return chr_error_set(err, CHR_EFORMAT,
                           "%s row %lld, column %d: not the summary of its row (the index was "
                           "modified; rebuild it with `chromatica index FILE`)",
                           bad < 3 ? "/index/centroid" : "/index/cdf",
                           (long long)(L->first_row + rr), bad < 3 ? bad : bad - 3);
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

static chr_status load(MPI_Comm comm, const chr_layout *L, const char *path, loader *l,
                       chr_index *idx, chr_dups *stored, int *has_stored, double *read_ms,
                       chr_error *err) {
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
  if (st == CHR_OK) st = check_offsets(L, l, meta.nnz, err);
  uint64_t sum = 0, total = 0;
  t = MPI_Wtime();
  if (st == CHR_OK && meta.summaries) st = adopt_summaries(L, path, l, idx, err);
  if (st == CHR_OK) st = adopt_entries(L, path, l, meta.nnz, idx, &sum, err);
  *read_ms += (MPI_Wtime() - t) * 1e3;
  st = chr_mpi_agree(comm, st, err);
  if (st != CHR_OK) return st;
  /* Summed over the group's shards, which together hold every row once. */
  chr_status reduced =
      chr_mpi_check(MPI_Allreduce(&sum, &total, 1, MPI_UINT64_T, MPI_SUM, L->group_comm), err,
                    "MPI_Allreduce of the index checksum");
  st = chr_mpi_agree(comm, st != CHR_OK ? st : reduced, err);
  if (st == CHR_OK && total != meta.checksum)
    st = chr_error_set(err, CHR_EFORMAT,
                       "/index: the rows' checksum is %016llx (expected %016llx, its checksum "
                       "attribute: the index was truncated or modified; rebuild it with "
                       "`chromatica index FILE`)",
                       (unsigned long long)total, (unsigned long long)meta.checksum);
  /* Read once the rows' checksum is verified: the groups' fingerprint binds them to it. */
  t = MPI_Wtime();
  if (st == CHR_OK && meta.duplicates)
    st = chr_dataset_index_read_duplicates(l->ds, &meta, stored, err);
  *read_ms += (MPI_Wtime() - t) * 1e3;
  *has_stored = st == CHR_OK && meta.duplicates;
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
                                 const char *path, chr_index **out, chr_dups *stored,
                                 int *has_stored, double *read_ms, chr_error *err) {
  loader l = {0};
  chr_index *idx = NULL;
  chr_error inner;
  *out = NULL;
  *read_ms = 0.0;
  *has_stored = 0;
  memset(stored, 0, sizeof *stored);
  chr_status st = open_file(comm, mode, path, &l, err);
  if (st == CHR_OK) st = chr_index_create(layout->rows, layout->first_row, &idx, err);
  if (st == CHR_OK) st = map_roots(layout, path, &l, idx, err);
  st = chr_mpi_agree(comm, st, err);
  if (st == CHR_OK) {
    st = load(comm, layout, path, &l, idx, stored, has_stored, read_ms, &inner);
    if (st != CHR_OK) chr_error_set(err, st, "%s: %s", path, inner.message);
  }
  chr_dataset_close(&l.ds);
  if (l.fapl != H5P_DEFAULT) H5Pclose(l.fapl);
  if (l.dxpl != H5P_DEFAULT) H5Pclose(l.dxpl);
  free(l.offsets);
  if (st != CHR_OK) {
    chr_index_destroy(&idx);
    chr_dups_free(stored);
    *has_stored = 0;
  }
  *out = idx;
  return st;
}
