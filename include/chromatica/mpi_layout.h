/* How P ranks split into G query groups x S index shards (spec section 10), agreement on
 * failure, and loading each rank's shard of the dataset (--io scatter | parallel).
 * The communicator is always a parameter; nothing here names MPI_COMM_WORLD. */
#ifndef CHROMATICA_MPI_LAYOUT_H
#define CHROMATICA_MPI_LAYOUT_H

#include <mpi.h>
#include <stdint.h>

#include "chromatica/dataset.h"
#include "chromatica/error.h"
#include "chromatica/mpi_collect.h"
#include "chromatica/scan.h"

/* Rank r belongs to group r / S and holds shard r % S: rows [first_row, first_row + rows). */
typedef struct {
  int ranks, groups, shards;
  int group, shard;
  int64_t images, first_row, rows;
  MPI_Comm group_comm; /* the S ranks of this rank's group, ranked by shard */
} chr_layout;

/* The memory this rank may use, in bytes: the least of the node's available memory
 * (MemAvailable), its cgroup limit (memory.max) and Slurm's allocation (SLURM_MEM_PER_NODE, or
 * SLURM_MEM_PER_CPU x SLURM_CPUS_ON_NODE), shared evenly by the ranks on the node. A positive
 * override_mb replaces the measurement (a site's own budget, or a test). *bytes receives it.
 * Collective on comm; all ranks return the same status. */
chr_status chr_layout_rank_memory(MPI_Comm comm, double override_mb, double *bytes, chr_error *err);

/* Property lists for collective MPI-IO on comm: *fapl (file access) and *dxpl (collective
 * transfers). The caller closes both with H5Pclose; on failure either may be negative. Local. */
chr_status chr_mpi_io_lists(MPI_Comm comm, hid_t *fapl, hid_t *dxpl, chr_error *err);

/* The most memory a shard of `rows` images can take once loaded: the bin-major columns (a
 * 2-byte binary16 root per bin) plus the sparse rows (6 bytes per non-zero bin, all bins at
 * worst) plus the per-image summaries of the cascade (CHR_INDEX_SUMMARY_BYTES), plus one
 * 4096-row read buffer. */
double chr_layout_shard_bytes(int64_t rows);

/* Default shard count: the fewest shards (a divisor of P) whose chr_layout_shard_bytes fits
 * half of rank_bytes (rank 0's value counts); P if none does. Rank 0 decides and broadcasts
 * it into *shards. Collective on comm; all ranks return the same status. */
chr_status chr_layout_default_shards(MPI_Comm comm, int64_t images, double rank_bytes, int *shards,
                                     chr_error *err);

/* Refuses, before any row is read, a layout whose shard would not fit: every rank compares
 * chr_layout_shard_bytes of its shard with its rank_bytes; the lowest failing rank's message
 * names its host, shard, need and budget. Collective on comm; all return the same status. */
chr_status chr_layout_check_memory(MPI_Comm comm, const chr_layout *layout, double rank_bytes,
                                   chr_error *err);

/* Builds the layout; S must divide P and be <= images. Collective on comm. */
chr_status chr_layout_create(MPI_Comm comm, int shards, int64_t images, chr_layout *out,
                             chr_error *err);
void chr_layout_free(chr_layout *layout);

typedef enum { CHR_IO_SCATTER = 0, CHR_IO_PARALLEL = 1 } chr_io_mode;

/* Loads this rank's shard into *out (validating every row). scatter: rank 0 reads `ds` (opened
 * by rank 0 alone; ignored elsewhere) in chunks of at most 4096 rows and sends each to the
 * ranks holding that shard, so it never holds more than one chunk. parallel: every rank opens
 * path through MPI-IO and reads its rows collectively; *independent_io is set when HDF5
 * reported that a transfer did not stay collective. Times are measured per rank.
 * Collective on comm; all ranks return the same status. */
chr_status chr_shard_load(MPI_Comm comm, const chr_layout *layout, chr_io_mode mode,
                          const char *path, chr_dataset *ds, chr_index **out, double *read_ms,
                          double *distribute_ms, int *independent_io, chr_error *err);

#endif
