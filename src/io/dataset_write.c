/* Writing a format-1 histogram dataset (spec section 9). Strings are fixed-length because
 * parallel HDF5 cannot write variable-length data collectively. A writer of known size makes
 * contiguous datasets, so row blocks map to plain byte ranges for MPI-IO; a growing writer
 * (size unknown until the end, as in `chromatica build`) makes chunked datasets with unlimited
 * rows and extends them. No MPI calls here. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chromatica/dataset.h"
#include "chromatica/grid.h"
#include "chromatica/image_row.h"
#include "h5_quiet.h"

#define GROW_CHUNK_ROWS 64         /* /histograms chunk: 64 x 1152 floats = 288 KiB */
#define GROW_CHUNK_ROWS_SMALL 1024 /* strings and palettes */

struct chr_dataset_writer {
  char *path;
  hid_t file;
  hid_t histograms, ids, paths, palettes, palette_weights;
  hid_t id_type, path_type;
  int64_t n;
  int id_len, path_len;
  int growing;
};

static hid_t fixed_string_type(size_t size) {
  hid_t type = H5Tcopy(H5T_C_S1);
  if (type < 0) return type;
  if (H5Tset_size(type, size) < 0 || H5Tset_strpad(type, H5T_STR_NULLPAD) < 0 ||
      H5Tset_cset(type, H5T_CSET_ASCII) < 0) {
    H5Tclose(type);
    return H5I_INVALID_HID;
  }
  return type;
}

static chr_status write_attr(hid_t file, const char *name, hid_t file_type, hid_t mem_type,
                             hsize_t count, const void *value, chr_error *err) {
  chr_status st = CHR_OK;
  hid_t space = count == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &count, NULL);
  hid_t attr = H5I_INVALID_HID;
  if (space < 0 ||
      (attr = H5Acreate2(file, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
      H5Awrite(attr, mem_type, value) < 0)
    st = chr_error_set(err, CHR_EIO, "root attribute '%s': cannot be written", name);
  if (attr >= 0 && H5Aclose(attr) < 0 && st == CHR_OK)
    st = chr_error_set(err, CHR_EIO, "root attribute '%s': cannot be closed", name);
  if (space >= 0) H5Sclose(space);
  return st;
}

static chr_status write_attr_string(hid_t file, const char *name, const char *value,
                                    chr_error *err) {
  hid_t type = fixed_string_type(strlen(value) + 1);
  if (type < 0)
    return chr_error_set(err, CHR_EIO, "root attribute '%s': cannot make its type", name);
  chr_status st = write_attr(file, name, type, type, 0, value, err);
  H5Tclose(type);
  return st;
}

static chr_status write_root_attributes(hid_t file, chr_error *err) {
  static const int version = 1;
  static const int bins[3] = {CHR_GRID_NL, CHR_GRID_NA, CHR_GRID_NB};
  static const double ranges[6] = {CHR_GRID_L_MIN, CHR_GRID_L_MAX, CHR_GRID_A_MIN,
                                   CHR_GRID_A_MAX, CHR_GRID_B_MIN, CHR_GRID_B_MAX};
  chr_status st = write_attr_string(file, "format", "chromatica-histograms", err);
  if (st == CHR_OK)
    st = write_attr(file, "format_version", H5T_STD_I32LE, H5T_NATIVE_INT, 0, &version, err);
  if (st == CHR_OK) st = write_attr(file, "bins", H5T_STD_I32LE, H5T_NATIVE_INT, 3, bins, err);
  if (st == CHR_OK)
    st = write_attr(file, "lab_ranges", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 6, ranges, err);
  if (st == CHR_OK) st = write_attr_string(file, "color_space", "CIELAB D65", err);
  return st;
}

/* A fixed-size contiguous dataset, or (growing) a chunked one of unlimited rows starting at
 * dims[0] rows. */
static hid_t create_dataset(hid_t file, const char *name, hid_t type, int rank, const hsize_t *dims,
                            int growing) {
  hsize_t max_dims[3], chunk[3];
  for (int i = 0; i < rank; ++i) {
    max_dims[i] = i == 0 && growing ? H5S_UNLIMITED : dims[i];
    chunk[i] = i > 0 ? dims[i]
                     : (rank == 2 && dims[1] == CHR_BINS ? GROW_CHUNK_ROWS : GROW_CHUNK_ROWS_SMALL);
  }
  hid_t space = H5Screate_simple(rank, dims, max_dims);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hid_t dset = H5I_INVALID_HID;
  if (space >= 0 && dcpl >= 0 &&
      (!growing ||
       (H5Pset_chunk(dcpl, rank, chunk) >= 0 && H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) >= 0)))
    dset = H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (space >= 0) H5Sclose(space);
  return dset;
}

chr_status chr_dataset_writer_create(const char *path, hid_t fapl, int64_t n, int id_len,
                                     int path_len, int with_palettes, chr_dataset_writer **out,
                                     chr_error *err) {
  chr_status st = CHR_OK;
  *out = NULL;
  if (n < 0 || id_len < 2 || path_len < 0 || path_len == 1) {
    return chr_error_set(err, CHR_EINVAL,
                         "dataset writer: n %lld, id_len %d, path_len %d (expected n >= 0, "
                         "id_len >= 2, path_len 0 or >= 2)",
                         (long long)n, id_len, path_len);
  }
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  chr_dataset_writer *w = calloc(1, sizeof *w);
  if (w == NULL) {
    st = chr_error_set(err, CHR_ENOMEM, "dataset writer: out of memory");
    goto cleanup;
  }
  if ((w->path = strdup(path)) == NULL) {
    st = chr_error_set(err, CHR_ENOMEM, "dataset writer: out of memory");
    goto cleanup;
  }
  w->file = w->histograms = w->ids = w->paths = w->palettes = w->palette_weights = H5I_INVALID_HID;
  w->id_type = w->path_type = H5I_INVALID_HID;
  w->n = n;
  w->id_len = id_len;
  w->path_len = path_len;
  w->growing = n == 0;
  if ((w->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0) {
    st = chr_error_set(err, CHR_EIO,
                       "'%s': cannot be created as an HDF5 file (expected a writable path)", path);
    goto cleanup;
  }
  if ((st = write_root_attributes(w->file, err)) != CHR_OK) goto cleanup;
  hsize_t hist_dims[2] = {(hsize_t)n, CHR_BINS}, str_dims[1] = {(hsize_t)n};
  hsize_t pal_dims[3] = {(hsize_t)n, CHR_PALETTE_MAX, 3},
          palw_dims[2] = {(hsize_t)n, CHR_PALETTE_MAX};
  if ((w->histograms =
           create_dataset(w->file, "/histograms", H5T_IEEE_F32LE, 2, hist_dims, w->growing)) < 0) {
    st = chr_error_set(err, CHR_EIO, "/histograms: cannot be created");
    goto cleanup;
  }
  if ((w->id_type = fixed_string_type((size_t)id_len)) < 0 ||
      (w->ids = create_dataset(w->file, "/image_ids", w->id_type, 1, str_dims, w->growing)) < 0) {
    st = chr_error_set(err, CHR_EIO, "/image_ids: cannot be created");
    goto cleanup;
  }
  if (path_len > 0 && ((w->path_type = fixed_string_type((size_t)path_len)) < 0 ||
                       (w->paths = create_dataset(w->file, "/file_paths", w->path_type, 1, str_dims,
                                                  w->growing)) < 0)) {
    st = chr_error_set(err, CHR_EIO, "/file_paths: cannot be created");
    goto cleanup;
  }
  if (with_palettes &&
      ((w->palettes = create_dataset(w->file, "/palettes", H5T_STD_U8LE, 3, pal_dims, w->growing)) <
           0 ||
       (w->palette_weights = create_dataset(w->file, "/palette_weights", H5T_IEEE_F32LE, 2,
                                            palw_dims, w->growing)) < 0)) {
    st = chr_error_set(err, CHR_EIO, "/palettes: cannot be created");
    goto cleanup;
  }
  *out = w;
  w = NULL;
cleanup:
  if (w != NULL) chr_dataset_writer_abandon(&w);
  chr_h5_quiet_end(&quiet);
  return st;
}

/* Writes rows [first, first+count) of dset from buf; count 0 selects nothing but still takes
 * part in a collective transfer. */
static chr_status write_rows(hid_t dset, hid_t mem_type, int rank, const hsize_t *inner,
                             int64_t first, int64_t count, const void *buf, hid_t dxpl) {
  static const unsigned char dummy[64] = {0};
  chr_status st = CHR_OK;
  hsize_t start[3] = {(hsize_t)first, 0, 0}, dims[3] = {(hsize_t)(count > 0 ? count : 1), 0, 0};
  for (int i = 1; i < rank; ++i) dims[i] = inner[i - 1];
  hid_t fspace = H5Dget_space(dset);
  hid_t mspace = H5Screate_simple(rank, dims, NULL);
  if (fspace < 0 || mspace < 0) {
    st = CHR_EIO;
    goto cleanup;
  }
  if (count == 0) {
    if (H5Sselect_none(fspace) < 0 || H5Sselect_none(mspace) < 0) st = CHR_EIO;
    buf = dummy;
  } else if (H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, dims, NULL) < 0) {
    st = CHR_EIO;
  }
  if (st == CHR_OK && H5Dwrite(dset, mem_type, mspace, fspace, dxpl, buf) < 0) st = CHR_EIO;
cleanup:
  if (mspace >= 0) H5Sclose(mspace);
  if (fspace >= 0) H5Sclose(fspace);
  return st;
}

/* Packs count strings into fixed-length slots of len bytes (NUL padded). */
static chr_status pack_strings(char *const *strings, int64_t first, int64_t count, int len,
                               const char *name, char **out, chr_error *err) {
  *out = NULL;
  if (count == 0) return CHR_OK;
  if (strings == NULL)
    return chr_error_set(err, CHR_EINVAL, "%s: no strings given for rows [%lld, %lld)", name,
                         (long long)first, (long long)(first + count));
  char *packed = calloc((size_t)count, (size_t)len);
  if (packed == NULL) return chr_error_set(err, CHR_ENOMEM, "%s: out of memory", name);
  for (int64_t i = 0; i < count; ++i) {
    size_t n = strlen(strings[i]);
    if (n >= (size_t)len) {
      free(packed);
      return chr_error_set(err, CHR_EINVAL, "%s row %lld: '%s' is %zu bytes (expected at most %d)",
                           name, (long long)(first + i), strings[i], n, len - 1);
    }
    memcpy(packed + (size_t)i * (size_t)len, strings[i], n);
  }
  *out = packed;
  return CHR_OK;
}

chr_status chr_dataset_writer_put(chr_dataset_writer *w, int64_t first, int64_t count,
                                  const float *hists, char *const *ids, char *const *paths,
                                  const chr_rgb *palettes, const float *palette_weights, hid_t dxpl,
                                  chr_error *err) {
  static const hsize_t hist_inner[1] = {CHR_BINS}, pal_inner[2] = {CHR_PALETTE_MAX, 3},
                       palw_inner[1] = {CHR_PALETTE_MAX};
  chr_status st = CHR_OK;
  char *packed_ids = NULL, *packed_paths = NULL;
  uint8_t *pal_bytes = NULL;
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  if (first < 0 || count < 0 || first > w->n || count > w->n - first) {
    st = chr_error_set(err, CHR_EINVAL,
                       "dataset writer: rows [%lld, %lld) (expected within [0, %lld))",
                       (long long)first, (long long)(first + count), (long long)w->n);
  } else if (count > 0 && (hists == NULL ||
                           (w->palettes >= 0 && (palettes == NULL || palette_weights == NULL)))) {
    st = chr_error_set(err, CHR_EINVAL,
                       "dataset writer: rows [%lld, %lld) lack histograms or palettes",
                       (long long)first, (long long)(first + count));
  }
  if (st == CHR_OK) st = pack_strings(ids, first, count, w->id_len, "/image_ids", &packed_ids, err);
  if (st == CHR_OK && w->paths >= 0)
    st = pack_strings(paths, first, count, w->path_len, "/file_paths", &packed_paths, err);
  if (st == CHR_OK && w->palettes >= 0 && count > 0) {
    size_t entries = (size_t)count * CHR_PALETTE_MAX;
    if ((pal_bytes = malloc(entries * 3)) == NULL) {
      st = chr_error_set(err, CHR_ENOMEM, "/palettes: out of memory");
    } else {
      for (size_t i = 0; i < entries; ++i) {
        pal_bytes[3 * i] = palettes[i].r;
        pal_bytes[3 * i + 1] = palettes[i].g;
        pal_bytes[3 * i + 2] = palettes[i].b;
      }
    }
  }
  /* A rank with bad arguments still takes part in every collective write, writing nothing,
   * so the other ranks do not hang; it reports its error afterwards. */
  int64_t n = st == CHR_OK ? count : 0;
  int64_t at = st == CHR_OK ? first : 0;
  chr_status io = CHR_OK;
  if (write_rows(w->histograms, H5T_NATIVE_FLOAT, 2, hist_inner, at, n, hists, dxpl) != CHR_OK)
    io = chr_error_set(err, CHR_EIO, "/histograms: writing rows [%lld, %lld) failed",
                       (long long)first, (long long)(first + count));
  if (write_rows(w->ids, w->id_type, 1, NULL, at, n, packed_ids, dxpl) != CHR_OK && io == CHR_OK)
    io = chr_error_set(err, CHR_EIO, "/image_ids: writing rows [%lld, %lld) failed",
                       (long long)first, (long long)(first + count));
  if (w->paths >= 0 &&
      write_rows(w->paths, w->path_type, 1, NULL, at, n, packed_paths, dxpl) != CHR_OK &&
      io == CHR_OK)
    io = chr_error_set(err, CHR_EIO, "/file_paths: writing rows [%lld, %lld) failed",
                       (long long)first, (long long)(first + count));
  if (w->palettes >= 0) {
    if (write_rows(w->palettes, H5T_NATIVE_UINT8, 3, pal_inner, at, n, pal_bytes, dxpl) != CHR_OK &&
        io == CHR_OK)
      io = chr_error_set(err, CHR_EIO, "/palettes: writing rows [%lld, %lld) failed",
                         (long long)first, (long long)(first + count));
    if (write_rows(w->palette_weights, H5T_NATIVE_FLOAT, 2, palw_inner, at, n, palette_weights,
                   dxpl) != CHR_OK &&
        io == CHR_OK)
      io = chr_error_set(err, CHR_EIO, "/palette_weights: writing rows [%lld, %lld) failed",
                         (long long)first, (long long)(first + count));
  }
  if (st == CHR_OK) st = io;
  free(packed_ids);
  free(packed_paths);
  free(pal_bytes);
  chr_h5_quiet_end(&quiet);
  return st;
}

chr_status chr_dataset_writer_grow(chr_dataset_writer *w, int64_t n, chr_error *err) {
  if (!w->growing || n < w->n)
    return chr_error_set(err, CHR_EINVAL,
                         "dataset writer: growing to %lld rows from %lld (expected a growing "
                         "writer and no shrinking)",
                         (long long)n, (long long)w->n);
  chr_status st = CHR_OK;
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  hsize_t hist[2] = {(hsize_t)n, CHR_BINS}, str[1] = {(hsize_t)n};
  hsize_t pal[3] = {(hsize_t)n, CHR_PALETTE_MAX, 3}, palw[2] = {(hsize_t)n, CHR_PALETTE_MAX};
  if (H5Dset_extent(w->histograms, hist) < 0 || H5Dset_extent(w->ids, str) < 0 ||
      (w->paths >= 0 && H5Dset_extent(w->paths, str) < 0) ||
      (w->palettes >= 0 &&
       (H5Dset_extent(w->palettes, pal) < 0 || H5Dset_extent(w->palette_weights, palw) < 0)))
    st = chr_error_set(err, CHR_EIO, "dataset writer: cannot extend the datasets to %lld rows",
                       (long long)n);
  else
    w->n = n;
  chr_h5_quiet_end(&quiet);
  return st;
}

chr_status chr_dataset_writer_close(chr_dataset_writer **p, chr_error *err) {
  if (p == NULL || *p == NULL) return CHR_OK;
  chr_dataset_writer *w = *p;
  int failed = 0;
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  hid_t objects[5] = {w->histograms, w->ids, w->paths, w->palettes, w->palette_weights};
  for (int i = 0; i < 5; ++i)
    if (objects[i] >= 0 && H5Dclose(objects[i]) < 0) failed = 1;
  if (w->id_type >= 0 && H5Tclose(w->id_type) < 0) failed = 1;
  if (w->path_type >= 0 && H5Tclose(w->path_type) < 0) failed = 1;
  /* A failed H5Fclose frees the file but leaves its identifier, which HDF5 closes again
   * inside MPI_Finalize and crashes (1.10): the file is closed once whatever the flush says,
   * and a file that will not be kept is truncated first (see abandon). */
  if (w->file >= 0) {
    if (H5Fflush(w->file, H5F_SCOPE_LOCAL) < 0) failed = 1;
    if (H5Fclose(w->file) < 0) failed = 1;
  }
  free(w->path);
  free(w);
  *p = NULL;
  chr_h5_quiet_end(&quiet);
  if (failed) return chr_error_set(err, CHR_EIO, "dataset writer: flushing or closing failed");
  return CHR_OK;
}

void chr_dataset_writer_abandon(chr_dataset_writer **p) {
  if (p == NULL || *p == NULL) return;
  /* Emptying the file gives back the space its rows took, so that on a full disk the metadata
   * HDF5 still writes while closing fits and the close succeeds (see close). Every rank may
   * do it: the result is the same. */
  chr_error ignored;
  if ((*p)->path != NULL && (*p)->file >= 0 && truncate((*p)->path, 0) != 0)
    chr_error_set(&ignored, CHR_EIO, "cannot be emptied"); /* the close still runs */
  chr_dataset_writer_close(p, &ignored);
}
