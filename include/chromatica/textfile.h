/* Output files that never appear half written: an atomic text write (temporary file in the same
 * directory, fsync, rename) and a probe that an output path can be created, so a run can fail
 * before its work rather than after. No MPI calls; not collective. */
#ifndef CHROMATICA_TEXTFILE_H
#define CHROMATICA_TEXTFILE_H

#include "chromatica/error.h"

/* Writes text plus a newline to path atomically, through a temporary file made by
 * chr_temp_create ("<path>.tmp.<pid>", exclusive, never through a link). On failure the
 * temporary file is removed, path is left untouched, and CHR_EIO says "<what> <path>: ..."
 * with the system error. */
chr_status chr_text_write_atomic(const char *path, const char *text, const char *what,
                                 chr_error *err);

/* Refuses a path that exists but is not a regular file (a directory, FIFO, device, socket) or
 * whose name is longer than NAME_MAX, then creates and removes a temporary file beside path
 * (chr_temp_create: a short name when path's own is too long for a suffix). CHR_EIO:
 * "<path>: directory '<dir>' cannot be written (<strerror>)"; CHR_EINVAL for an empty path and
 * "<path>: exists and is a directory (expected a regular file to replace or a new path)". */
chr_status chr_path_check_writable(const char *path, chr_error *err);

#endif
