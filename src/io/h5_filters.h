/* Private to src/io: refuses a dataset stored through a filter this HDF5 library cannot undo.
 * HDF5 opens such a dataset happily and fails only when rows are read, with a bare "can't read
 * data"; h5py's lzf compression (filter 32000) is the usual case. No MPI calls. */
#ifndef CHR_IO_H5_FILTERS_H
#define CHR_IO_H5_FILTERS_H

#include <hdf5.h>

#include "chromatica/error.h"

/* Checks every filter in the pipeline of dataset dset (named name in messages) and fails
 * with CHR_EUNSUPPORTED naming the first one that is not available for decoding:
 * "/histograms: compressed with filter 32000 (lzf), which this HDF5 library does not have
 * (expected no filter or one of: gzip/deflate, shuffle, ...)". CHR_EIO when the pipeline
 * cannot be read. Not collective (metadata only). */
chr_status chr_h5_check_filters(hid_t dset, const char *name, chr_error *err);

#endif
