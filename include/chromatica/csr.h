/* Sparse rows (CSR) of histograms as the stored index holds them (spec section 11, "A stored
 * index"): the non-zero bins of each row, ascending, and their masses, exactly as chr_index
 * keeps them after building from the dense row, so a search on either gives the same bits.
 * Also the fingerprint that binds a stored index to its histograms and the checks a reader
 * makes on rows it did not build itself. Pure; not collective; thread-safe. */
#ifndef CHROMATICA_CSR_H
#define CHROMATICA_CSR_H

#include <stdint.h>

#include "chromatica/error.h"

/* Appends the non-zero entries of `count` dense rows (count x CHR_BINS floats) to bins/mass
 * (which must hold count x CHR_BINS entries from *nnz on) and writes the running entry count
 * after each row into ends[0 .. count). *nnz advances by the entries appended. The rule is
 * chr_index's: an entry is kept when it is != 0.0f (so -0.0 is dropped). */
void chr_csr_from_dense(const float *rows, int64_t count, uint16_t *bins, float *mass, int64_t *nnz,
                        int64_t *ends);

/* The fingerprint term of global row `row` whose support is bins/mass[0 .. n): a 64-bit mix of
 * the row number and every (bin, mass bit pattern). The fingerprint of a dataset is the sum
 * (mod 2^64) of its rows' terms, so ranks can add their shards' sums in any order. */
uint64_t chr_csr_row_term(int64_t row, const uint16_t *bins, const float *mass, int n);

/* Checks the stored sparse rows [first, first + count): offsets[0 .. count] (global entry
 * positions, offsets[0] being row first's start; bins/mass point at entry offsets[0]) must not
 * decrease and stay within [0, nnz]; each row's bins strictly ascending and < CHR_BINS; each
 * mass finite and > 0; each row summing to 1 within 1e-3 (in double, as the dense check does).
 * Adds the rows' fingerprint terms to *sum. CHR_EFORMAT naming /index, the row and what is
 * wrong. */
chr_status chr_csr_check(const int64_t *offsets, const uint16_t *bins, const float *mass,
                         int64_t first, int64_t count, int64_t nnz, uint64_t *sum, chr_error *err);

/* chr_csr_check that also gives the rows' largest double sum (each row's masses added in order
 * from 0.0, 0 for no rows) as *max_row_sum, for chr_index_adopt_sparse_summed. */
chr_status chr_csr_check_summed(const int64_t *offsets, const uint16_t *bins, const float *mass,
                                int64_t first, int64_t count, int64_t nnz, uint64_t *sum,
                                double *max_row_sum, chr_error *err);

#endif
