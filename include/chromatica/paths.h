/* Which paths name the same file, and temporary files that are safe to create (issue 13).
 * An output must never be one of the command's inputs however it is spelled ("./a/../x.h5",
 * a hard link, a symbolic link), and a temporary file is always created afresh: exclusively,
 * never through an existing link, under a name short enough for every layer below (NAME_MAX,
 * Open MPI's shared-file-pointer component). No MPI calls; not collective. */
#ifndef CHROMATICA_PATHS_H
#define CHROMATICA_PATHS_H

#include <stddef.h>

#include "chromatica/error.h"

/* Longest temporary file name (last component) used as is; longer ones fall back to
 * ".chr-XXXXXX<suffix>". Open MPI 4.1's sharedfp/sm component, which HDF5 opens with every
 * MPI-IO file, appends "_cid-C-PID.sm" to the name in a fixed buffer and fails from 241
 * characters (aborts from 245); 200 leaves room for any PID. */
#define CHR_TEMP_NAME_MAX 200

/* 1 when a and b name the same file: both exist and stat() (following symbolic links) gives
 * the same device and inode, or neither exists yet and both resolve to the same path (the
 * directory part through realpath). 0 otherwise, and when either cannot be examined. */
int chr_path_same_file(const char *a, const char *b);

/* CHR_EINVAL when out and in name the same file: "<out_opt> '<out>' is the same file as
 * <in_opt> '<in>' (refusing to overwrite an input)"; CHR_OK otherwise. */
chr_status chr_path_check_distinct(const char *out_opt, const char *out, const char *in_opt,
                                   const char *in, chr_error *err);

/* 1 when listing the directory dir (as `build` does: regular files, hidden names and symbolic
 * links skipped, subdirectories only when recursive) would reach path, whether or not path
 * exists yet; 0 otherwise or when path's directory cannot be resolved. */
int chr_path_listed_under(const char *path, const char *dir, int recursive);

/* Creates a new, empty temporary file beside path, for writing path atomically (write, then
 * rename into place). Its name is "<path><suffix>" when its last component has at most
 * CHR_TEMP_NAME_MAX bytes, else ".chr-XXXXXX<suffix>" in path's directory. It is opened with
 * O_CREAT | O_EXCL | O_NOFOLLOW, so nothing that already exists is ever written through.
 * When "<path><suffix>" already exists: with replace_stale, a regular file (left by a killed
 * run) is removed and the creation retried; anything else (a symbolic link, a directory) is
 * refused, CHR_EIO "'<name>' exists and is a symbolic link (a temporary name that is never
 * followed or replaced; remove it)". On success *fd is the open descriptor (the caller closes
 * it and removes the file when it fails) and tmp holds the name. */
chr_status chr_temp_create(const char *path, const char *suffix, int replace_stale, char *tmp,
                           size_t size, int *fd, chr_error *err);

#endif
