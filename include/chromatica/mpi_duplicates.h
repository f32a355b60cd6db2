/* The dataset's duplicate groups found across the shards of a query group (issue 16): images
 * whose histograms are bit-identical answer once, through their group's lowest row. Collective
 * on the group communicator. */
#ifndef CHROMATICA_MPI_DUPLICATES_H
#define CHROMATICA_MPI_DUPLICATES_H

#include <mpi.h>

#include "chromatica/duplicates.h"
#include "chromatica/scan.h"

/* Hashes this rank's rows of idx, shares the hashes across group_comm (whose ranks together hold
 * rows 0..images) and settles every hash match by an exact comparison with the matching group's
 * lowest row, whose sparse row its owner sends to all. *out (every rank; free with
 * chr_dups_free) receives every collapsed row and its representative; idx's exclusion mask
 * (chr_index_set_excluded) marks this rank's collapsed rows. Two rows that share a 64-bit hash
 * but differ are never merged; in that case, rows equal to each other but not to the hash's
 * lowest row stay separate too (a 2^-64 event, documented rather than handled). The same answer
 * for any number of shards. Collective on group_comm; all ranks agree on the outcome. */
chr_status chr_mpi_duplicates(MPI_Comm group_comm, chr_index *idx, int64_t images, chr_dups *out,
                              chr_error *err);

/* chr_mpi_duplicates with the groups stored in the index (/index/duplicates, already checked
 * with chr_dups_check_pairs and its fingerprint): no hashing; every stored pair is still
 * compared exactly (the lowest rows travel as above), and one that is not identical is
 * CHR_EFORMAT. The same *out and mask as chr_mpi_duplicates when the stored groups are those
 * of the rows. Collective on group_comm. */
chr_status chr_mpi_duplicates_stored(MPI_Comm group_comm, chr_index *idx, int64_t images,
                                     const chr_dups *stored, chr_dups *out, chr_error *err);

/* The groups of rows being indexed: this rank's rows first .. first + rows, row r's entries
 * bins/mass[offsets[r] .. offsets[r + 1]); the ranks of comm hold consecutive blocks in rank
 * order covering rows 0..images. *out as chr_mpi_duplicates. Collective on comm. */
chr_status chr_mpi_duplicates_rows(MPI_Comm comm, int64_t first, int64_t rows,
                                   const int64_t *offsets, const uint16_t *bins, const float *mass,
                                   int64_t images, chr_dups *out, chr_error *err);

#endif
