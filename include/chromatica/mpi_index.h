/* The stored index (format version 2, spec section 11) on the MPI side: every rank reads and
 * checks its own shard of it instead of the dense histograms, and `index`, `build` and `synth`
 * write it, each rank converting its block of rows. The communicator is a parameter. */
#ifndef CHROMATICA_MPI_INDEX_H
#define CHROMATICA_MPI_INDEX_H

#include <mpi.h>
#include <stdint.h>

#include "chromatica/dataset_index.h"
#include "chromatica/error.h"
#include "chromatica/mpi_layout.h"
#include "chromatica/scan.h"

/* Rows of the dense histograms each rank compares with its stored sparse rows when loading
 * (first, last and evenly spread between): catches histograms rewritten in place after
 * indexing unless every changed row escapes the sample (see the README on the trade-off). */
#define CHR_INDEX_SAMPLE_ROWS 16

/* Loads this rank's shard from the stored index of path (whose metadata rank 0 found
 * consistent: chr_dataset_index_meta). parallel: collective MPI-IO reads; scatter: every rank
 * reads its own range independently (the index is compact, so rank 0 need not send it). Every
 * row is checked (chr_csr_check), the fingerprint of all rows must equal the stored checksum
 * and the sampled rows must equal /histograms bit for bit; otherwise CHR_EFORMAT with a clear
 * message and nothing is searched. An index_version 3 index's duplicate groups are read and
 * checked (chr_dataset_index_read_duplicates) into *stored (every rank; free with
 * chr_dups_free), *has_stored = 1; older versions leave *stored empty and *has_stored 0.
 * *read_ms: this rank's time in HDF5 reads. Collective on comm; all ranks return the same
 * status. */
chr_status chr_shard_load_stored(MPI_Comm comm, const chr_layout *layout, chr_io_mode mode,
                                 const char *path, chr_index **out, chr_dups *stored,
                                 int *has_stored, double *read_ms, chr_error *err);

typedef struct {
  int64_t rows, nnz;
  uint64_t checksum;
} chr_index_written;

/* Writes (or rewrites) /index into the dataset file at path, which must be a valid format 1
 * or 2 dataset: each rank reads and checks a contiguous block of rows with collective MPI-IO,
 * converts them (chr_csr_from_dense) and writes its part; then the attributes and
 * format_version 2. path is modified in place: callers pass a temporary file they rename
 * when this succeeds. Collective on comm; all ranks return the same status. */
chr_status chr_mpi_index_write(MPI_Comm comm, const char *path, chr_index_written *out,
                               chr_error *err);

#endif
