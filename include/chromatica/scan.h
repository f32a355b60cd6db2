/* The in-memory index of one shard and the exact stage-1 scan (spec section 4).
 * The index keeps the histograms twice, each in the layout its stage wants: bin-major columns
 * of binary16 square roots for the stage-1 scan (only the query's non-zero bins are touched; an
 * approximation that only chooses which rows to score exactly) and sparse rows (CSR) for the
 * exact scores and the stage-2 rerank on supports. Not collective. */
#ifndef CHROMATICA_SCAN_H
#define CHROMATICA_SCAN_H

#include <stdint.h>

#include "chromatica/error.h"
#include "chromatica/query.h"
#include "chromatica/topk.h"

typedef struct chr_index chr_index;

/* Creates an empty index for `capacity` rows whose first row has global index first_row.
 * The caller owns *out and frees it with chr_index_destroy. */
chr_status chr_index_create(int64_t capacity, int64_t first_row, chr_index **out, chr_error *err);

/* Frees the index and sets *p = NULL. Accepts NULL and *p == NULL. */
void chr_index_destroy(chr_index **p);

/* Appends `count` rows given row-major (count x CHR_BINS floats). The rows must already be
 * validated; CHR_EINVAL if they would exceed the capacity. */
chr_status chr_index_append(chr_index *idx, const float *rows, int64_t count, chr_error *err);

/* Appends `count` rows given as sparse rows: row i's entries are bins/mass[offsets[i] -
 * offsets[0] .. offsets[i + 1] - offsets[0]) (ascending non-zero bins, as chr_csr_from_dense
 * makes them, already checked with chr_csr_check). The index ends up exactly as
 * chr_index_append of the dense rows would leave it. CHR_EINVAL beyond the capacity,
 * CHR_ENOMEM. */
chr_status chr_index_append_sparse(chr_index *idx, const int64_t *offsets, const uint16_t *bins,
                                   const float *mass, int64_t count, chr_error *err);

/* Makes the index use root columns it does not own (a read-only mapping of a stored index):
 * column b of local row r at roots[b * stride + r], as chr_index_roots_block writes them for
 * the dataset's rows. Rows appended afterwards only fill the sparse rows. release(owner) is
 * called once when the index is destroyed. Only before any row is appended; CHR_EINVAL else. */
chr_status chr_index_adopt_roots(chr_index *idx, const uint16_t *roots, int64_t stride, void *owner,
                                 void (*release)(void *), chr_error *err);

/* The root columns of `count` sparse rows (offsets/bins/mass as chr_index_append_sparse takes
 * them) into out: CHR_BINS columns of count binary16 values each, column b at out + b * count,
 * zero where a row has no mass; the values chr_index_append stores. */
void chr_index_roots_block(const int64_t *offsets, const uint16_t *bins, const float *mass,
                           int64_t count, uint16_t *out);

/* -1 when every root of local row r equals the value its sparse row gives; else the first
 * bin that differs. */
int chr_index_check_roots(const chr_index *idx, int64_t r);

/* Makes the index use `count` sparse rows it does not own (read-only mappings of a stored
 * index, already checked with chr_csr_check): row r's entries are bins/mass[offsets[r] ..
 * offsets[r + 1]) (offsets is copied; bins and mass stay in place). Only after
 * chr_index_adopt_roots and before any row; release(owner) is called once at destroy.
 * CHR_EINVAL otherwise. The index then holds exactly what appending the rows would give. */
chr_status chr_index_adopt_sparse(chr_index *idx, const int64_t *offsets, const uint16_t *bins,
                                  const float *mass, int64_t count, void *owner,
                                  void (*release)(void *), chr_error *err);

/* chr_index_adopt_sparse given the rows' largest double sum (each row's masses added in order
 * from 0.0, as chr_csr_check_summed computes it): with adopted summaries the rows are not read
 * again. The index is the same as chr_index_adopt_sparse makes. */
chr_status chr_index_adopt_sparse_summed(chr_index *idx, const int64_t *offsets,
                                         const uint16_t *bins, const float *mass, int64_t count,
                                         double max_row_sum, void *owner, void (*release)(void *),
                                         chr_error *err);

/* Makes the index use per-image summaries it does not own (read-only mappings of a stored
 * index): centroid column k of local row r at centroid[k * stride + r], marginal column k at
 * cdf[k * stride + r], as chr_index_summary_block writes them. chr_index_adopt_sparse then
 * computes none, and rows can no longer be appended (CHR_EINVAL). Only before any row;
 * release(owner) is called once at destroy. CHR_EINVAL otherwise. */
chr_status chr_index_adopt_summaries(chr_index *idx, const float *centroid, const uint8_t *cdf,
                                     int64_t stride, void *owner, void (*release)(void *),
                                     chr_error *err);

/* The summaries (chr_index_centroid_column, chr_index_cdf_column) of `count` sparse rows, as
 * chr_index_roots_block takes them, into centroid (3 columns of count floats) and cdf
 * (CHR_INDEX_CDF columns of count bytes): bit for bit what appending the rows computes. */
void chr_index_summary_block(const int64_t *offsets, const uint16_t *bins, const float *mass,
                             int64_t count, float *centroid, uint8_t *cdf);

/* -1 when local row r's summaries equal what its sparse row gives, bit for bit; else the first
 * column that differs (0-2: centroid axis, 3 + k: marginal column k). */
int chr_index_check_summary(const chr_index *idx, int64_t r);

/* Allocates room for nnz sparse entries at once (before any row; otherwise a no-op), so that
 * chr_index_append_sparse of that many entries never reallocates. CHR_ENOMEM. */
chr_status chr_index_reserve_entries(chr_index *idx, int64_t nnz, chr_error *err);

int64_t chr_index_rows(const chr_index *idx);      /* rows appended so far */
int64_t chr_index_first_row(const chr_index *idx); /* global index of local row 0 */

/* Marks the rows (one byte per appended row, non-zero: excluded; copied) that searches which
 * collapse duplicate images skip; NULL clears the mask. Rows appended later are not excluded.
 * CHR_ENOMEM. */
chr_status chr_index_set_excluded(chr_index *idx, const uint8_t *mask, chr_error *err);

/* 1 when local row r is excluded by the mask, else 0. */
int chr_index_excluded(const chr_index *idx, int64_t r);

/* The support (non-zero bins, ascending) of local row r: *bins and *mass point into the index
 * and stay valid until it is destroyed. Returns the support size. */
int chr_index_support(const chr_index *idx, int64_t r, const uint16_t **bins, const float **mass);

/* The binary16 sqrt(x) of bin `bin` for local rows 0 .. rows: the column stage 1 streams. */
const uint16_t *chr_index_root_column(const chr_index *idx, int bin);

/* Per image, computed in double from its support when appended, for the cascade's bounds: its
 * centroid (the mass-weighted mean of its bin centres) as float, axis 0, 1, 2 = L, a, b ... */
const float *chr_index_centroid_column(const chr_index *idx, int axis);

/* ... and the cumulative distributions of its three axis marginals below each axis's last
 * level (k 0-6: L levels 0-6, 7-17: a levels 0-10, 18-28: b levels 0-10) in units of 1/255
 * (chr_index_cdf_quantize). Column k of every local row. */
#define CHR_INDEX_CDF 29
const uint8_t *chr_index_cdf_column(const chr_index *idx, int k);

/* The bytes per image of the centroid and marginal columns. */
#define CHR_INDEX_SUMMARY_BYTES (3 * 4 + CHR_INDEX_CDF)

/* round(255 f) clamped to 0..255: how a cumulative mass f is kept. */
uint8_t chr_index_cdf_quantize(double f);

/* ann_score = 2 - 2 * sum_i sqrt(q_i) * sqrt(x_i) for local row r, summed in double in the
 * query's ascending bin order. The single definition every path must reproduce bit for bit. */
double chr_scan_score(const chr_index *idx, const chr_qhist *q, int64_t r);

/* CHR_EINVAL naming the value when the environment variable CHR_SCAN_KERNELS (portable, avx2
 * or avx512: which stage-1 kernels to run; unset for the widest this CPU has) is unknown or
 * not supported here. Results never depend on it; it exists to test and time each level. */
chr_status chr_scan_check_environment(chr_error *err);

/* The shard's exact top-`want` (best-first, by chr_scan_score then row) over all its rows,
 * using the calling thread's OpenMP team if inside none. Reads only the query's bins' binary16
 * root columns, then re-scores exactly from the CSR rows every row that an error bound cannot
 * rule out, so the result never depends on the CPU's vector width or the thread count. out must
 * hold want hits. Returns the count (min(want, rows)), or -1 with err set when out of memory or
 * when CHR_SCAN_KERNELS names no usable kernel level (see src/core/scan_kernels.h). */
int chr_scan_topk(const chr_index *idx, const chr_qhist *q, int want, chr_hit *out, chr_error *err);

/* chr_scan_topk for nq queries at once: out[i] (want[i] slots) receives query i's top, counts[i]
 * its count. Each needed column chunk is read and widened once for all the queries that use
 * it; every query's result equals chr_scan_topk's bit for bit. CHR_ENOMEM, or CHR_EINVAL for a
 * bad CHR_SCAN_KERNELS. */
chr_status chr_scan_topk_many(const chr_index *idx, const chr_qhist *const *qs, int nq,
                              const int *want, chr_hit *const *out, int *counts, chr_error *err);

/* chr_scan_topk_many where query i (exclude[i] non-zero; exclude may be NULL) never sees the
 * rows of the index's exclusion mask (chr_index_set_excluded): its top is the exact top of the
 * other rows. */
chr_status chr_scan_topk_many_excluding(const chr_index *idx, const chr_qhist *const *qs, int nq,
                                        const int *want, const int *exclude, chr_hit *const *out,
                                        int *counts, chr_error *err);

#endif
