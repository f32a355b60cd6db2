/* Text files in and out: a whole input file read with its kind and size checked before it is
 * opened; output files that never appear half written: an atomic text write (temporary file in
 * the same directory, fsync, rename) and a probe that an output path can be created, so a run
 * can fail before its work rather than after. No MPI calls; not collective. */
#ifndef CHROMATICA_TEXTFILE_H
#define CHROMATICA_TEXTFILE_H

#include <stddef.h>

#include "chromatica/error.h"

/* Reads the whole regular file at path into *text (malloc'd, NUL-terminated; the caller frees
 * it) and its length into *size. Checked before opening, since opening a pipe would block and a
 * directory has no size: CHR_EINVAL "<path>: not a regular file (expected <expected>)" and
 * "<path>: N bytes (expected at most max_bytes<per>)"; CHR_EIO "<path>: cannot open <what>
 * (<strerror>)" or "cannot read <what> (...)". */
chr_status chr_text_read(const char *path, long long max_bytes, const char *what,
                         const char *expected, const char *per, char **text, size_t *size,
                         chr_error *err);

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
