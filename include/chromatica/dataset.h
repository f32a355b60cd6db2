/* The HDF5 histogram dataset (spec section 9): open and validate, read row blocks and the
 * per-image strings, and write a dataset. No MPI calls here: parallel access comes from the
 * file-access property list (fapl) and transfer property list (dxpl) the caller passes in.
 * Whether a function is collective is that of the HDF5 calls it makes with the caller's fapl:
 * each says so. */
#ifndef CHROMATICA_DATASET_H
#define CHROMATICA_DATASET_H

#include <hdf5.h>
#include <stdint.h>

#include "chromatica/color.h"
#include "chromatica/error.h"

typedef struct chr_dataset chr_dataset;

/* Opens path read-only and checks the root attributes and the shapes and types of
 * /histograms, /image_ids and the optional objects; does not read the rows (see
 * chr_dataset_check_rows). fapl may be H5P_DEFAULT. Collective on the fapl's communicator if
 * it is an MPI-IO fapl. Errors name the object and what was expected; a file HDF5 cannot open
 * is reported as unreadable (CHR_EIO), as "truncated HDF5 file (N of M bytes)" when its
 * superblock records more bytes than it has, or as not HDF5 (CHR_EFORMAT). */
chr_status chr_dataset_open(const char *path, hid_t fapl, chr_dataset **out, chr_error *err);

/* Closes and sets *p = NULL. Accepts NULL. Collective like open. */
void chr_dataset_close(chr_dataset **p);

int64_t chr_dataset_images(const chr_dataset *ds);
int chr_dataset_has_file_paths(const chr_dataset *ds);
int chr_dataset_has_palettes(const chr_dataset *ds);

/* Reads rows [first, first+count) of /histograms into buf (count x 1152 floats, row-major).
 * dxpl may be H5P_DEFAULT or a collective MPI-IO transfer list (then collective). */
chr_status chr_dataset_read_rows(chr_dataset *ds, int64_t first, int64_t count, float *buf,
                                 hid_t dxpl, chr_error *err);

/* Checks count rows (global indices first..) : finite, non-negative, summing to 1 within
 * 1e-3. On failure names /histograms, the first bad row and what is wrong. Pure. */
chr_status chr_dataset_check_rows(const float *rows, int64_t first, int64_t count, chr_error *err);

/* Reads all image ids (and file paths if present, else *paths = NULL) as arrays of
 * NUL-terminated strings, each array one allocation holding its strings (the strings must not
 * be freed one by one); free with chr_strings_free. Checks ids are unique. Independent (not
 * collective) reads. */
chr_status chr_dataset_read_strings(chr_dataset *ds, char ***ids, char ***paths, chr_error *err);
void chr_strings_free(char **strings, int64_t count);

/* Reads palettes and palette weights of all images (n*5 entries each), or CHR_EINVAL when
 * the dataset has none. Every weight must be finite and >= 0: otherwise CHR_EFORMAT,
 * "/palette_weights row R: slot S is V (expected finite, >= 0)". */
chr_status chr_dataset_read_palettes(chr_dataset *ds, chr_rgb *palettes, float *weights,
                                     chr_error *err);

/* Checks n rows of palette weights as chr_dataset_read_palettes does. Pure. */
chr_status chr_dataset_check_palette_weights(const float *weights, int64_t n, chr_error *err);

/* Reads /palette_weights alone and checks it (chr_dataset_check_palette_weights): a search
 * refuses bad weights in any row while reading the palettes of the rows it reports only. */
chr_status chr_dataset_check_weights(chr_dataset *ds, chr_error *err);

/* A fingerprint of /image_ids (its bytes, width and padding; never 0) when it is a
 * fixed-length string dataset, else *fp = 0. `chromatica index` stores it once it has found
 * the ids unique, so a search whose ids still give it need not check them again. */
chr_status chr_dataset_ids_fingerprint(chr_dataset *ds, uint64_t *fp, chr_error *err);

/* Reads the ids (and paths, if present, else *paths = NULL) of rows[0..n) (ascending,
 * distinct) only: (*ids)[i] is row rows[i]'s, each array one allocation freed with
 * chr_strings_free; the strings read as chr_dataset_read_strings reads them. Independent
 * reads. */
chr_status chr_dataset_read_string_rows(chr_dataset *ds, const int64_t *rows, int64_t n,
                                        char ***ids, char ***paths, chr_error *err);

/* Reads the palettes and weights of rows[0..n) (ascending, distinct) into palettes and weights
 * (every image's CHR_PALETTE_MAX slots; the other rows are left as they are). */
chr_status chr_dataset_read_palette_rows(chr_dataset *ds, const int64_t *rows, int64_t n,
                                         chr_rgb *palettes, float *weights, chr_error *err);

/* --- writing --- */
typedef struct chr_dataset_writer chr_dataset_writer;

/* Creates path (truncating) with all objects for n images: fixed-length strings (ids up to
 * id_len-1 bytes, paths up to path_len-1 bytes), palettes if with_palettes. n = 0 makes a
 * growing writer: chunked datasets of unlimited rows, starting empty (see
 * chr_dataset_writer_grow). Collective on the fapl's communicator if it is an MPI-IO fapl. */
chr_status chr_dataset_writer_create(const char *path, hid_t fapl, int64_t n, int id_len,
                                     int path_len, int with_palettes, chr_dataset_writer **out,
                                     chr_error *err);

/* Writes rows [first, first+count): histograms (count x 1152), ids and paths (count strings
 * each, may be NULL for paths only if the file has none) and palettes (count*5 each, may be
 * NULL if none). With a collective dxpl every rank must call it (count may be 0). */
chr_status chr_dataset_writer_put(chr_dataset_writer *w, int64_t first, int64_t count,
                                  const float *hists, char *const *ids, char *const *paths,
                                  const chr_rgb *palettes, const float *palette_weights, hid_t dxpl,
                                  chr_error *err);

/* Extends every dataset of a growing writer to n rows (n >= its current rows); the new rows
 * are then written with chr_dataset_writer_put. Collective like create: every rank passes the
 * same n. */
chr_status chr_dataset_writer_grow(chr_dataset_writer *w, int64_t n, chr_error *err);

/* Flushes and closes; sets *p = NULL. Collective like create. */
chr_status chr_dataset_writer_close(chr_dataset_writer **p, chr_error *err);

/* Closes a writer whose file will be removed (after a failed write): empties the file first,
 * so that closing does not fail on a full disk (HDF5 1.10 crashes in MPI_Finalize after a
 * failed close), then closes ignoring errors; sets *p = NULL. Collective like create. */
void chr_dataset_writer_abandon(chr_dataset_writer **p);

#endif
