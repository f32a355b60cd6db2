/* Private to src/io: why HDF5 could not open a file, from the file's own bytes. No MPI calls. */
#ifndef CHR_IO_HDF5_PROBE_H
#define CHR_IO_HDF5_PROBE_H

#include "chromatica/error.h"

/* Why H5Fopen refused path: it cannot be read (CHR_EIO), it is an HDF5 file cut short (its
 * superblock records a larger end of file than it has, "truncated HDF5 file (N of M bytes)";
 * HDF5 itself only says it cannot open it), or it is not HDF5 (CHR_EFORMAT). Always returns
 * an error. */
chr_status chr_hdf5_explain_open_failure(const char *path, chr_error *err);

#endif
