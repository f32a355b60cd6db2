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

#endif
