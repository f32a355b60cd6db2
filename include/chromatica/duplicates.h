/* Images with identical histograms (issue 16): the hash of a sparse row, the exact comparison
 * that settles a hash collision, and the duplicate groups of a whole dataset as one small map
 * from every non-representative row to its representative (the group's lowest row). The groups
 * depend only on the histograms, never on how the rows are split among ranks or threads.
 * Core: no MPI; src/mpi/duplicates.c assembles the groups across shards. Not collective. */
#ifndef CHROMATICA_DUPLICATES_H
#define CHROMATICA_DUPLICATES_H

#include <stdint.h>

#include "chromatica/error.h"

/* A 64-bit hash of a sparse row: its bins and the bit patterns of their masses (so rows are
 * equal exactly when their supports and masses are bit-identical). */
uint64_t chr_dup_row_hash(const uint16_t *bins, const float *mass, int n);

/* 1 when two sparse rows are bit-identical, else 0. */
int chr_dup_rows_equal(const uint16_t *bins_a, const float *mass_a, int n_a, const uint16_t *bins_b,
                       const float *mass_b, int n_b);

/* head[r] = the lowest row whose hash equals hash[r] (r itself when none is lower), for rows
 * 0..n) of the whole dataset. CHR_ENOMEM. */
chr_status chr_dup_hash_heads(const uint64_t *hash, int64_t n, int64_t *head, chr_error *err);

/* The dataset's duplicate groups: for each collapsed row (not its group's representative),
 * row[i] and its representative rep[i], ordered by (rep, row). */
typedef struct {
  int64_t n;      /* collapsed rows */
  int64_t groups; /* groups with at least one collapsed row */
  int64_t *row;
  int64_t *rep;
} chr_dups;

/* Builds *d from n (row, rep) pairs in any order (rep < row); takes copies. CHR_ENOMEM. */
chr_status chr_dups_create(const int64_t *row, const int64_t *rep, int64_t n, chr_dups *d,
                           chr_error *err);

/* Frees the arrays and zeroes *d. Accepts an empty or zeroed map. */
void chr_dups_free(chr_dups *d);

/* The rows collapsed onto representative `rep` (ascending): *rows points into d. Returns how
 * many (0 when rep represents no group, or is itself collapsed). */
int64_t chr_dups_members(const chr_dups *d, int64_t rep, const int64_t **rows);

/* The fingerprint of groups stored with an index (/index/duplicates): a chained hash of n, every
 * (row, rep) pair in order and the index checksum of the rows they were found in, so pairs
 * stored for other rows (a foreign or stale list) or edited do not match. */
uint64_t chr_dups_checksum(const int64_t *row, const int64_t *rep, int64_t n,
                           uint64_t index_checksum);

/* Checks n stored (row, rep) pairs of a dataset of `images` rows have the shape
 * chr_dups_create gives: 0 <= rep < row < images, strictly ordered by (rep, row), every row
 * collapsed once and no representative itself collapsed. CHR_EFORMAT naming `what` and the
 * first bad pair; CHR_ENOMEM. */
chr_status chr_dups_check_pairs(const int64_t *row, const int64_t *rep, int64_t n, int64_t images,
                                const char *what, chr_error *err);

#endif
