/* Private to src/io: checks the root attributes of a histogram dataset. No MPI calls. */
#ifndef CHR_IO_DATASET_ATTRS_H
#define CHR_IO_DATASET_ATTRS_H

#include <hdf5.h>

#include "chromatica/dataset.h"
#include "chromatica/error.h"

/* Checks that the root group of file holds format 'chromatica-histograms', format_version 1
 * (or 2: the file carries a stored index, checked by src/io/dataset_index.c) into
 * *format_version,
 * bins [8, 12, 12], lab_ranges [0, 100, -86, 98, -108, 95] and color_space 'CIELAB D65';
 * the first that is missing or different fails with CHR_EFORMAT naming it, its value and the
 * expected one. A fixed-length string attribute loses trailing spaces. Not collective. */
chr_status chr_dataset_check_root_attributes(hid_t file, int *format_version, chr_error *err);

/* The length of the fixed-length string s (size bytes) without its padding, as every read
 * of ids and paths takes it (src/io/dataset.c says which padding is removed). */
size_t chr_dataset_fixed_length(const char *s, size_t size, H5T_str_t pad);

/* The open file of a dataset and its root format_version (for src/io/dataset_index.c). */
hid_t chr_dataset_file_id(const chr_dataset *ds);
int chr_dataset_format_version(const chr_dataset *ds);

#endif
