/* The per-image metadata of chosen rows only (the rows a report shows), the fingerprint that
 * lets a search skip re-checking /image_ids for uniqueness, and the palette-weight check alone
 * (see include/chromatica/dataset.h). No MPI calls. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/dataset.h"
#include "chromatica/image_row.h"
#include "chromatica/mix.h"
#include "dataset_attrs.h"
#include "h5_quiet.h"

/* Four independent lanes over the bytes (so the mixes pipeline), the tail and the length. */
static uint64_t bytes_hash(const unsigned char *p, size_t n, uint64_t seed) {
  uint64_t lane[4] = {seed, seed ^ 1, seed ^ 2, seed ^ 3}, w;
  size_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; ++k) {
      memcpy(&w, p + i + 8 * (size_t)k, sizeof w);
      lane[k] = chr_mix64(lane[k] ^ w) + w;
    }
  uint64_t h = chr_mix64(seed ^ (uint64_t)n);
  for (; i < n; ++i) h = chr_mix64(h ^ p[i]);
  for (int k = 0; k < 4; ++k) h = chr_mix64(h ^ lane[k]);
  return h;
}

/* The file type of string dataset name: fixed-length size and padding (*variable = 1 for
 * variable-length strings). 0 when it cannot be read. */
static int string_type(hid_t dset, int *variable, size_t *size, H5T_str_t *pad) {
  hid_t type = H5Dget_type(dset);
  if (type < 0) return 0;
  htri_t v = H5Tis_variable_str(type);
  *variable = v > 0;
  *size = H5Tget_size(type);
  *pad = v > 0 ? H5T_STR_NULLTERM : H5Tget_strpad(type);
  H5Tclose(type);
  return v >= 0 && *size > 0 && *pad != H5T_STR_ERROR;
}

chr_status chr_dataset_ids_fingerprint(chr_dataset *ds, uint64_t *fp, chr_error *err) {
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  int64_t n = chr_dataset_images(ds);
  hid_t dset = H5Dopen2(chr_dataset_file_id(ds), "/image_ids", H5P_DEFAULT), mtype = -1;
  int variable = 0;
  size_t size = 0;
  H5T_str_t pad = H5T_STR_ERROR;
  unsigned char *buf = NULL;
  chr_status st = CHR_OK;
  *fp = 0;
  if (dset < 0 || !string_type(dset, &variable, &size, &pad)) {
    st = chr_error_set(err, CHR_EIO, "/image_ids: cannot read its string type");
    goto cleanup;
  }
  if (variable) goto cleanup; /* no fingerprint: the ids are checked in full */
  buf = malloc((size_t)(n > 0 ? n : 1) * size);
  mtype = H5Dget_type(dset);
  if (buf == NULL || mtype < 0 ||
      (n > 0 && H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)) {
    st = chr_error_set(err, CHR_EIO, "/image_ids: cannot be read for its fingerprint");
    goto cleanup;
  }
  /* The bytes, their count, the width and the padding (SPACEPAD ids ignore trailing spaces):
   * equal fingerprints mean the same ids. Never 0, which means none. */
  uint64_t seed = chr_mix64(((uint64_t)size << 8) ^ (uint64_t)pad ^ 0x696d6167655f6964ull);
  *fp = bytes_hash(buf, (size_t)n * size, seed) | 1;
cleanup:
  free(buf);
  if (mtype >= 0) H5Tclose(mtype);
  if (dset >= 0) H5Dclose(dset);
  chr_h5_quiet_end(&quiet);
  return st;
}

/* Selects rows[0..n) (ascending, distinct) of a dataset whose rows are `inner` elements wide
 * (rank dims) as a list of points (a union of n hyperslabs costs HDF5 time quadratic in n);
 * *mspace receives n * inner elements. */
static int select_row_set(hid_t fspace, const int64_t *rows, int64_t n, hid_t *mspace) {
  hsize_t dims[3] = {0, 1, 1};
  int rank = H5Sget_simple_extent_ndims(fspace);
  if (rank < 1 || rank > 3 || H5Sget_simple_extent_dims(fspace, dims, NULL) != rank) return 0;
  size_t inner = 1;
  for (int d = 1; d < rank; ++d) inner *= (size_t)dims[d];
  size_t points = (size_t)n * inner;
  hsize_t total = points,
          *coords = malloc((points > 0 ? points : 1) * (size_t)rank * sizeof *coords);
  if (coords == NULL) return 0;
  for (size_t p = 0; p < points; ++p) {
    hsize_t *c = coords + p * (size_t)rank, within = p % inner;
    c[0] = (hsize_t)rows[p / inner];
    for (int d = rank - 1; d >= 1; --d) {
      c[d] = within % dims[d];
      within /= dims[d];
    }
  }
  int ok = (points == 0 ? H5Sselect_none(fspace)
                        : H5Sselect_elements(fspace, H5S_SELECT_SET, points, coords)) >= 0;
  free(coords);
  *mspace = ok ? H5Screate_simple(1, &total, NULL) : H5I_INVALID_HID;
  return *mspace >= 0;
}

/* Reads rows[0..n) of string dataset name into *out: n pointers (string i is row rows[i]'s)
 * and their text in one allocation (chr_strings_free). */
static chr_status read_string_rows(hid_t file, const char *name, const int64_t *rows, int64_t n,
                                   char ***out, chr_error *err) {
  hid_t dset = H5Dopen2(file, name, H5P_DEFAULT), mtype = -1, mspace = -1;
  hid_t fspace = dset >= 0 ? H5Dget_space(dset) : -1;
  int variable = 0;
  size_t size = 0;
  H5T_str_t pad = H5T_STR_ERROR;
  chr_status st = CHR_OK;
  void *buf = NULL;
  *out = NULL;
  if (fspace < 0 || !string_type(dset, &variable, &size, &pad) || (mtype = H5Dget_type(dset)) < 0 ||
      !select_row_set(fspace, rows, n, &mspace)) {
    st = chr_error_set(err, CHR_EIO, "%s: cannot select %lld rows", name, (long long)n);
    goto cleanup;
  }
  size_t each = variable ? sizeof(char *) : size, text = 0;
  buf = calloc((size_t)(n > 0 ? n : 1), each);
  if (buf != NULL && n > 0 && H5Dread(dset, mtype, mspace, fspace, H5P_DEFAULT, buf) < 0) {
    st = chr_error_set(err, CHR_EIO, "%s: reading %lld rows failed", name, (long long)n);
    goto cleanup;
  }
  for (int64_t i = 0; buf != NULL && i < n; ++i) {
    const char *s = variable ? ((char **)buf)[i] : (char *)buf + (size_t)i * size;
    text += (variable ? (s ? strlen(s) : 0) : chr_dataset_fixed_length(s, size, pad)) + 1;
  }
  char **block = buf ? malloc((size_t)(n > 0 ? n : 1) * sizeof(char *) + text + 1) : NULL;
  char *at = block ? (char *)(block + n) : NULL;
  for (int64_t i = 0; block != NULL && i < n; ++i) {
    const char *s = variable ? ((char **)buf)[i] : (char *)buf + (size_t)i * size;
    size_t len = variable ? (s ? strlen(s) : 0) : chr_dataset_fixed_length(s, size, pad);
    if (len > 0) memcpy(at, s, len);
    at[len] = '\0';
    block[i] = at;
    at += len + 1;
  }
  if (block == NULL)
    st = chr_error_set(err, CHR_ENOMEM, "%s: out of memory for %lld rows", name, (long long)n);
  *out = block;
cleanup:
  /* The strings HDF5 allocated, also those of a read that failed part way (buf was zeroed). */
  if (variable && buf != NULL && n > 0) H5Dvlen_reclaim(mtype, mspace, H5P_DEFAULT, buf);
  free(buf);
  if (mspace >= 0) H5Sclose(mspace);
  if (fspace >= 0) H5Sclose(fspace);
  if (mtype >= 0) H5Tclose(mtype);
  if (dset >= 0) H5Dclose(dset);
  return st;
}

chr_status chr_dataset_read_string_rows(chr_dataset *ds, const int64_t *rows, int64_t n,
                                        char ***ids, char ***paths, chr_error *err) {
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  hid_t file = chr_dataset_file_id(ds);
  *paths = NULL;
  chr_status st = read_string_rows(file, "/image_ids", rows, n, ids, err);
  if (st == CHR_OK && chr_dataset_has_file_paths(ds))
    st = read_string_rows(file, "/file_paths", rows, n, paths, err);
  chr_h5_quiet_end(&quiet);
  return st;
}

/* Reads rows[0..n) of a numeric dataset (`bytes` bytes a row as mem_type) into out, row
 * rows[i] at position place[i]. */
static chr_status read_numeric_rows(hid_t file, const char *name, hid_t mem_type, size_t bytes,
                                    const int64_t *rows, const int64_t *place, int64_t n, void *out,
                                    chr_error *err) {
  hid_t dset = H5Dopen2(file, name, H5P_DEFAULT), mspace = -1;
  hid_t fspace = dset >= 0 ? H5Dget_space(dset) : -1;
  unsigned char *buf = malloc((size_t)(n > 0 ? n : 1) * bytes);
  chr_status st = CHR_OK;
  if (buf == NULL || fspace < 0 || !select_row_set(fspace, rows, n, &mspace) ||
      (n > 0 && H5Dread(dset, mem_type, mspace, fspace, H5P_DEFAULT, buf) < 0))
    st = chr_error_set(err, CHR_EIO, "%s: reading %lld rows failed", name, (long long)n);
  for (int64_t i = 0; st == CHR_OK && i < n; ++i)
    memcpy((unsigned char *)out + (size_t)place[i] * bytes, buf + (size_t)i * bytes, bytes);
  free(buf);
  if (mspace >= 0) H5Sclose(mspace);
  if (fspace >= 0) H5Sclose(fspace);
  if (dset >= 0) H5Dclose(dset);
  return st;
}

chr_status chr_dataset_read_palette_rows(chr_dataset *ds, const int64_t *rows, int64_t n,
                                         chr_rgb *palettes, float *weights, chr_error *err) {
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  hid_t file = chr_dataset_file_id(ds);
  chr_status st = CHR_OK;
  size_t slots = CHR_PALETTE_MAX;
  uint8_t *bytes = malloc((size_t)(n > 0 ? n : 1) * slots * 3); /* row i's at i: compact */
  int64_t *at = malloc((size_t)(n > 0 ? n : 1) * sizeof *at);
  for (int64_t i = 0; at != NULL && i < n; ++i) at[i] = i;
  if (bytes == NULL || at == NULL)
    st = chr_error_set(err, CHR_ENOMEM, "/palettes: out of memory for %lld palettes", (long long)n);
  if (st == CHR_OK)
    st = read_numeric_rows(file, "/palettes", H5T_NATIVE_UINT8, slots * 3, rows, at, n, bytes, err);
  if (st == CHR_OK)
    st = read_numeric_rows(file, "/palette_weights", H5T_NATIVE_FLOAT, slots * sizeof(float), rows,
                           rows, n, weights, err);
  for (int64_t i = 0; st == CHR_OK && i < n; ++i)
    for (size_t j = 0; j < slots; ++j) {
      const uint8_t *c = bytes + ((size_t)i * slots + j) * 3;
      palettes[(size_t)rows[i] * slots + j] = (chr_rgb){c[0], c[1], c[2]};
    }
  free(bytes);
  free(at);
  chr_h5_quiet_end(&quiet);
  return st;
}

chr_status chr_dataset_check_weights(chr_dataset *ds, chr_error *err) {
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  int64_t n = chr_dataset_images(ds);
  float *weights = malloc((size_t)(n > 0 ? n : 1) * CHR_PALETTE_MAX * sizeof *weights);
  hid_t dset = H5Dopen2(chr_dataset_file_id(ds), "/palette_weights", H5P_DEFAULT);
  chr_status st = CHR_OK;
  if (weights == NULL)
    st = chr_error_set(err, CHR_ENOMEM, "/palette_weights: out of memory for %lld rows",
                       (long long)n);
  else if (dset < 0 || H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, weights) < 0)
    st = chr_error_set(err, CHR_EIO, "/palette_weights: cannot be read");
  else
    st = chr_dataset_check_palette_weights(weights, n, err);
  if (dset >= 0) H5Dclose(dset);
  free(weights);
  chr_h5_quiet_end(&quiet);
  return st;
}
