/* Reading and validating the HDF5 histogram dataset (spec section 9). No MPI calls: the
 * caller's fapl/dxpl decide whether access is parallel. HDF5's automatic error-stack printing
 * is switched off while we work, because every failure is reported once through chr_error. */
#include "chromatica/dataset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chromatica/grid.h"
#include "chromatica/image_row.h"
#include "dataset_attrs.h"
#include "h5_filters.h"
#include "h5_quiet.h"
#include "hdf5_probe.h"
#include "json_check.h"

#define STRING_BLOCK 65536 /* rows of strings read per HDF5 call: bounds the temporary buffer */

struct chr_dataset {
  hid_t file;
  hid_t histograms;
  int64_t n;
  int has_file_paths;
  int has_palettes;
  int format_version;
};

static const char *class_name(H5T_class_t cls) {
  switch (cls) {
    case H5T_INTEGER:
      return "integer";
    case H5T_FLOAT:
      return "float";
    case H5T_STRING:
      return "string";
    case H5T_COMPOUND:
      return "compound";
    case H5T_ENUM:
      return "enum";
    case H5T_ARRAY:
      return "array";
    case H5T_VLEN:
      return "vlen sequence";
    default:
      return "other";
  }
}

/* Checks that dataset `name` exists with type class cls and shape [n, inner...] (n < 0: any).
 * Stores the leading dimension in *rows. `what` describes the expected type and shape. */
static chr_status check_object(hid_t file, const char *name, H5T_class_t cls, int rank,
                               const hsize_t *inner, int64_t n, const char *type_name,
                               const char *what, int64_t *rows, chr_error *err) {
  chr_status st = CHR_OK;
  hid_t dset = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
  htri_t exists = H5Lexists(file, name + 1, H5P_DEFAULT);
  if (exists <= 0) {
    st = chr_error_set(err, CHR_EFORMAT, "%s: missing (expected %s %s)", name, type_name, what);
    goto cleanup;
  }
  if ((dset = H5Dopen2(file, name, H5P_DEFAULT)) < 0) {
    st = chr_error_set(err, CHR_EFORMAT, "%s: not a readable dataset (expected %s %s)", name,
                       type_name, what);
    goto cleanup;
  }
  if ((type = H5Dget_type(dset)) < 0 || (space = H5Dget_space(dset)) < 0) {
    st = chr_error_set(err, CHR_EIO, "%s: cannot read its type or shape", name);
    goto cleanup;
  }
  if (H5Tget_class(type) != cls) {
    st = chr_error_set(err, CHR_EFORMAT, "%s: element type %s (expected %s)", name,
                       class_name(H5Tget_class(type)), type_name);
    goto cleanup;
  }
  hsize_t dims[H5S_MAX_RANK];
  int found = H5Sget_simple_extent_ndims(space);
  if (found < 0 || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
    st = chr_error_set(err, CHR_EIO, "%s: cannot read its shape", name);
    goto cleanup;
  }
  int ok = found == rank && (n < 0 || dims[0] == (hsize_t)n);
  for (int i = 1; ok && i < rank; ++i) ok = dims[i] == inner[i - 1];
  if (!ok) {
    char shape[128];
    size_t used = (size_t)snprintf(shape, sizeof shape, "[");
    for (int i = 0; i < found && used < sizeof shape; ++i)
      used += (size_t)snprintf(shape + used, sizeof shape - used, "%s%llu", i ? ", " : "",
                               (unsigned long long)dims[i]);
    if (used < sizeof shape) snprintf(shape + used, sizeof shape - used, "]");
    st = chr_error_set(err, CHR_EFORMAT, "%s: shape %s (expected %s)", name, shape, what);
    goto cleanup;
  }
  /* Before any row is read: HDF5 would only fail then, without naming the filter. */
  if ((st = chr_h5_check_filters(dset, name, err)) != CHR_OK) goto cleanup;
  if (rows != NULL) *rows = (int64_t)dims[0];
cleanup:
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  if (dset >= 0) H5Dclose(dset);
  return st;
}

static chr_status check_objects(chr_dataset *ds, chr_error *err) {
  static const hsize_t hist_inner[1] = {CHR_BINS};
  static const hsize_t pal_inner[2] = {5, 3};
  static const hsize_t palw_inner[1] = {5};
  char what[96];
  chr_status st = check_object(ds->file, "/histograms", H5T_FLOAT, 2, hist_inner, -1, "float",
                               "[N, 1152]", &ds->n, err);
  if (st != CHR_OK) return st;
  if (ds->n < 1)
    return chr_error_set(err, CHR_EFORMAT,
                         "/histograms: shape [0, 1152] (expected [N, 1152], N >= 1)");
  snprintf(what, sizeof what, "[%lld]", (long long)ds->n);
  st = check_object(ds->file, "/image_ids", H5T_STRING, 1, NULL, ds->n, "strings", what, NULL, err);
  if (st != CHR_OK) return st;
  htri_t paths = H5Lexists(ds->file, "file_paths", H5P_DEFAULT);
  if (paths > 0) {
    st = check_object(ds->file, "/file_paths", H5T_STRING, 1, NULL, ds->n, "strings", what, NULL,
                      err);
    if (st != CHR_OK) return st;
  }
  ds->has_file_paths = paths > 0;
  htri_t pal = H5Lexists(ds->file, "palettes", H5P_DEFAULT);
  htri_t palw = H5Lexists(ds->file, "palette_weights", H5P_DEFAULT);
  if ((pal > 0) != (palw > 0))
    return chr_error_set(err, CHR_EFORMAT, "%s: present without %s (expected both or neither)",
                         pal > 0 ? "/palettes" : "/palette_weights",
                         pal > 0 ? "/palette_weights" : "/palettes");
  if (pal > 0) {
    snprintf(what, sizeof what, "[%lld, 5, 3]", (long long)ds->n);
    st = check_object(ds->file, "/palettes", H5T_INTEGER, 3, pal_inner, ds->n, "uint8", what, NULL,
                      err);
    if (st != CHR_OK) return st;
    snprintf(what, sizeof what, "[%lld, 5]", (long long)ds->n);
    st = check_object(ds->file, "/palette_weights", H5T_FLOAT, 2, palw_inner, ds->n, "float", what,
                      NULL, err);
    if (st != CHR_OK) return st;
  }
  ds->has_palettes = pal > 0;
  return CHR_OK;
}

chr_status chr_dataset_open(const char *path, hid_t fapl, chr_dataset **out, chr_error *err) {
  chr_status st = CHR_OK;
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  *out = NULL;
  chr_dataset *ds = calloc(1, sizeof *ds);
  if (ds == NULL) {
    st = chr_error_set(err, CHR_ENOMEM, "out of memory opening the dataset");
    goto cleanup;
  }
  ds->file = H5I_INVALID_HID;
  ds->histograms = H5I_INVALID_HID;
  /* A pipe would block H5Fopen forever; refuse anything but a regular file first. */
  struct stat info;
  if (stat(path, &info) == 0 && !S_ISREG(info.st_mode)) {
    st = chr_error_set(err, CHR_EINVAL, "not a regular file (expected an HDF5 file)");
    goto cleanup;
  }
  if ((ds->file = H5Fopen(path, H5F_ACC_RDONLY, fapl)) < 0) {
    st = chr_hdf5_explain_open_failure(path, err);
    goto cleanup;
  }
  if ((st = chr_dataset_check_root_attributes(ds->file, &ds->format_version, err)) != CHR_OK)
    goto cleanup;
  if ((st = check_objects(ds, err)) != CHR_OK) goto cleanup;
  if ((ds->histograms = H5Dopen2(ds->file, "/histograms", H5P_DEFAULT)) < 0) {
    st = chr_error_set(err, CHR_EIO, "/histograms: cannot be opened");
    goto cleanup;
  }
  *out = ds;
  ds = NULL;
cleanup:
  chr_dataset_close(&ds);
  chr_h5_quiet_end(&quiet);
  return st;
}

void chr_dataset_close(chr_dataset **p) {
  if (p == NULL || *p == NULL) return;
  chr_dataset *ds = *p;
  if (ds->histograms >= 0) H5Dclose(ds->histograms);
  if (ds->file >= 0) H5Fclose(ds->file);
  free(ds);
  *p = NULL;
}

int64_t chr_dataset_images(const chr_dataset *ds) {
  return ds->n;
}

hid_t chr_dataset_file_id(const chr_dataset *ds) {
  return ds->file;
}
int chr_dataset_format_version(const chr_dataset *ds) {
  return ds->format_version;
}

int chr_dataset_has_file_paths(const chr_dataset *ds) {
  return ds->has_file_paths;
}

int chr_dataset_has_palettes(const chr_dataset *ds) {
  return ds->has_palettes;
}

/* Selects rows [first, first+count) of a dataset of the given rank in fspace and a matching
 * memory space; count 0 selects nothing (so a collective transfer still has every rank). */
static chr_status select_rows(hid_t fspace, int rank, int64_t first, int64_t count,
                              const hsize_t *inner, hid_t *mspace) {
  hsize_t start[3] = {(hsize_t)first, 0, 0}, dims[3] = {(hsize_t)(count > 0 ? count : 1), 0, 0};
  for (int i = 1; i < rank; ++i) dims[i] = inner[i - 1];
  if ((*mspace = H5Screate_simple(rank, dims, NULL)) < 0) return CHR_EIO;
  if (count == 0)
    return H5Sselect_none(fspace) < 0 || H5Sselect_none(*mspace) < 0 ? CHR_EIO : CHR_OK;
  return H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, dims, NULL) < 0 ? CHR_EIO
                                                                                  : CHR_OK;
}

chr_status chr_dataset_read_rows(chr_dataset *ds, int64_t first, int64_t count, float *buf,
                                 hid_t dxpl, chr_error *err) {
  static const hsize_t inner[1] = {CHR_BINS};
  chr_status st = CHR_OK;
  hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  float dummy = 0;
  if (first < 0 || count < 0 || first > ds->n || count > ds->n - first) {
    st =
        chr_error_set(err, CHR_EINVAL, "/histograms: rows [%lld, %lld) (expected within [0, %lld))",
                      (long long)first, (long long)(first + count), (long long)ds->n);
    goto cleanup;
  }
  if ((fspace = H5Dget_space(ds->histograms)) < 0 ||
      select_rows(fspace, 2, first, count, inner, &mspace) != CHR_OK ||
      H5Dread(ds->histograms, H5T_NATIVE_FLOAT, mspace, fspace, dxpl, count ? buf : &dummy) < 0) {
    st = chr_error_set(err, CHR_EIO, "/histograms: reading rows [%lld, %lld) failed",
                       (long long)first, (long long)(first + count));
    goto cleanup;
  }
cleanup:
  if (mspace >= 0) H5Sclose(mspace);
  if (fspace >= 0) H5Sclose(fspace);
  chr_h5_quiet_end(&quiet);
  return st;
}

chr_status chr_dataset_check_rows(const float *rows, int64_t first, int64_t count, chr_error *err) {
  for (int64_t r = 0; r < count; ++r) {
    const float *row = rows + r * CHR_BINS;
    double sum = 0.0;
    for (int j = 0; j < CHR_BINS; ++j) {
      float v = row[j];
      if (isnan(v))
        return chr_error_set(err, CHR_EFORMAT,
                             "/histograms row %lld: entry %d is NaN (expected finite, >= 0)",
                             (long long)(first + r), j);
      if (isinf(v) || v < 0)
        return chr_error_set(err, CHR_EFORMAT,
                             "/histograms row %lld: entry %d is %g (expected finite, >= 0)",
                             (long long)(first + r), j, (double)v);
      sum += v;
    }
    if (fabs(sum - 1.0) > 1e-3)
      return chr_error_set(err, CHR_EFORMAT,
                           "/histograms row %lld: sums to %.6g (expected 1 within 1e-3)",
                           (long long)(first + r), sum);
  }
  return CHR_OK;
}

/* The length of the fixed-length string s (size bytes) without its padding. HDF5 pads with
 * NULs (H5T_STR_NULLTERM, H5T_STR_NULLPAD: h5py, build and synth write NULLPAD) or spaces
 * (H5T_STR_SPACEPAD); only the padding the type names is removed, so 'dup ' keeps its space
 * as it does in a variable-length string. A NUL ends the string in every case, as it does in
 * a variable-length one. Under SPACEPAD trailing spaces cannot be told from padding. */
size_t chr_dataset_fixed_length(const char *s, size_t size, H5T_str_t pad) {
  size_t len = 0;
  while (len < size && s[len] != '\0') ++len;
  if (pad == H5T_STR_SPACEPAD)
    while (len > 0 && s[len - 1] == ' ') --len;
  return len;
}

/* The strings of one dataset while they are read, bound for one block: n pointers followed
 * by the text, each string with its NUL (released by free, chr_strings_free). One allocation
 * instead of one per string: a million ids and paths cost 2 million mallocs otherwise.
 * Fixed-length strings are written straight into the block, whose size is known; variable-
 * length ones into a growing text whose offsets `starts` keeps, copied into the block at the
 * end (arena_finish). */
typedef struct {
  char **block; /* fixed-length: the result, its text right after the n pointers */
  char *text;
  size_t len, cap;
  size_t *starts; /* variable-length: where string i starts in text */
} string_arena;

static int arena_push(string_arena *a, int64_t i, const char *s, size_t len) {
  if (a->cap - a->len < len + 1) {
    size_t cap = a->cap > 0 ? a->cap : 4096;
    while (cap - a->len < len + 1) cap *= 2;
    char *grown = a->block == NULL ? realloc(a->text, cap) : NULL;
    if (grown == NULL) return 0;
    a->text = grown;
    a->cap = cap;
  }
  if (a->block != NULL)
    a->block[i] = a->text + a->len;
  else
    a->starts[i] = a->len;
  memcpy(a->text + a->len, s, len);
  a->text[a->len + len] = '\0';
  a->len += len + 1;
  return 1;
}

/* Prepares the arena for n strings: fixed-length ones (size bytes each) get their block. */
static int arena_start(string_arena *a, int64_t n, int variable, size_t size) {
  if (variable) {
    a->starts = malloc((size_t)(n > 0 ? n : 1) * sizeof *a->starts);
    return a->starts != NULL;
  }
  a->cap = (size_t)n * (size + 1) + 1;
  a->block = malloc((size_t)n * sizeof *a->block + a->cap);
  if (a->block != NULL) a->text = (char *)(a->block + n);
  return a->block != NULL;
}

/* The block of n strings; the arena no longer owns it. NULL on ENOMEM. */
static char **arena_finish(string_arena *a, int64_t n) {
  char **block = a->block;
  a->block = NULL;
  if (block != NULL) {
    a->text = NULL; /* inside block */
    return block;
  }
  if ((block = malloc((size_t)n * sizeof *block + a->len + 1)) == NULL) return NULL;
  char *text = (char *)(block + n);
  if (a->len > 0) memcpy(text, a->text, a->len);
  for (int64_t i = 0; i < n; ++i) block[i] = text + a->starts[i];
  return block;
}

static void arena_free(string_arena *a) {
  if (a->block != NULL)
    free(a->block);
  else
    free(a->text);
  free(a->starts);
}

/* Reads one block of rows [first, first + count) of the string dataset into the arena. */
static chr_status read_string_block(hid_t dset, hid_t mtype, hid_t fspace, int variable,
                                    size_t size, H5T_str_t pad, int64_t first, int64_t count,
                                    void *buf, string_arena *a, const char *name, chr_error *err) {
  hid_t mspace = H5I_INVALID_HID;
  chr_status st = CHR_OK;
  char **vlen = buf;
  const char *fixed = buf;
  if (select_rows(fspace, 1, first, count, NULL, &mspace) != CHR_OK ||
      H5Dread(dset, mtype, mspace, fspace, H5P_DEFAULT, buf) < 0) {
    st = chr_error_set(err, CHR_EIO, "%s: reading rows [%lld, %lld) failed", name, (long long)first,
                       (long long)(first + count));
    goto cleanup;
  }
  for (int64_t i = 0; i < count && st == CHR_OK; ++i) {
    const char *s = variable ? (vlen[i] ? vlen[i] : "") : fixed + (size_t)i * size;
    if (!arena_push(a, first + i, s, variable ? strlen(s) : chr_dataset_fixed_length(s, size, pad)))
      st = CHR_ENOMEM;
  }
  if (variable) {
    if (H5Dvlen_reclaim(mtype, mspace, H5P_DEFAULT, vlen) < 0 && st == CHR_OK) st = CHR_EIO;
    memset(vlen, 0, (size_t)count * sizeof *vlen);
  }
  if (st != CHR_OK)
    chr_error_set(err, st, "%s: out of memory or reclaim failure at rows [%lld, %lld)", name,
                  (long long)first, (long long)(first + count));
cleanup:
  if (mspace >= 0) H5Sclose(mspace);
  return st;
}

/* Reads the n strings of dataset name (fixed or variable length) into *out, one block (see
 * arena_finish); *spacepad tells whether they are fixed-length and space-padded. */
static chr_status read_string_dataset(hid_t file, const char *name, int64_t n, char ***out,
                                      int *spacepad, chr_error *err) {
  chr_status st = CHR_OK;
  hid_t dset = H5I_INVALID_HID, ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
  hid_t fspace = H5I_INVALID_HID;
  void *buf = NULL;
  string_arena a = {0};
  *out = NULL;
  if ((dset = H5Dopen2(file, name, H5P_DEFAULT)) < 0 || (ftype = H5Dget_type(dset)) < 0 ||
      (fspace = H5Dget_space(dset)) < 0) {
    st = chr_error_set(err, CHR_EIO, "%s: cannot be opened", name);
    goto cleanup;
  }
  htri_t variable = H5Tis_variable_str(ftype);
  size_t size = H5Tget_size(ftype);
  H5T_str_t pad = variable ? H5T_STR_NULLTERM : H5Tget_strpad(ftype);
  *spacepad = pad == H5T_STR_SPACEPAD;
  if (variable < 0 || size == 0 || pad == H5T_STR_ERROR || (mtype = H5Tcopy(ftype)) < 0) {
    st = chr_error_set(err, CHR_EIO, "%s: cannot read its string type", name);
    goto cleanup;
  }
  int64_t block = n < STRING_BLOCK ? n : STRING_BLOCK;
  buf = variable ? calloc((size_t)(block > 0 ? block : 1), sizeof(char *))
                 : malloc((size_t)(block > 0 ? block : 1) * size);
  if (buf == NULL || !arena_start(&a, n, variable > 0, size)) {
    st = chr_error_set(err, CHR_ENOMEM, "%s: out of memory for %lld strings", name, (long long)n);
    goto cleanup;
  }
  for (int64_t first = 0; first < n && st == CHR_OK; first += block)
    st = read_string_block(dset, mtype, fspace, variable > 0, size, pad, first,
                           n - first < block ? n - first : block, buf, &a, name, err);
  if (st == CHR_OK && (*out = arena_finish(&a, n)) == NULL)
    st = chr_error_set(err, CHR_ENOMEM, "%s: out of memory for %lld strings", name, (long long)n);
cleanup:
  free(buf);
  arena_free(&a);
  if (fspace >= 0) H5Sclose(fspace);
  if (mtype >= 0) H5Tclose(mtype);
  if (ftype >= 0) H5Tclose(ftype);
  if (dset >= 0) H5Dclose(dset);
  return st;
}

/* FNV-1a: the ids' hash for the uniqueness check (any hash gives the same answer). */
static uint64_t hash_string(const char *s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (; *s != '\0'; ++s) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
  return h;
}

/* Finds the first row whose id an earlier row already has, with an open-addressing hash set
 * of the rows seen (one probe per id on average, instead of sorting a million pointers): that
 * row is the duplicate whose second occurrence comes first, and the earlier row its first
 * occurrence (its bytes escaped as in every message, see utf8.h). spacepad: the ids were
 * space-padded, which the message says, since ids that differed only in trailing spaces are
 * then the same. */
static chr_status check_unique(char **ids, int64_t n, int spacepad, chr_error *err) {
  size_t cap = 16;
  while (cap < (size_t)n * 2) cap *= 2;
  int64_t *seen = calloc(cap, sizeof *seen); /* row + 1 of an id, 0 for an empty slot */
  if (seen == NULL)
    return chr_error_set(err, CHR_ENOMEM, "/image_ids: out of memory checking %lld ids",
                         (long long)n);
  int64_t first = -1, second = -1;
  for (int64_t i = 0; i < n && second < 0; ++i) {
    size_t slot = (size_t)hash_string(ids[i]) & (cap - 1);
    while (seen[slot] != 0 && strcmp(ids[seen[slot] - 1], ids[i]) != 0)
      slot = (slot + 1) & (cap - 1);
    if (seen[slot] != 0) {
      first = seen[slot] - 1;
      second = i;
    } else {
      seen[slot] = i + 1;
    }
  }
  free(seen);
  if (second < 0) return CHR_OK;
  char shown[CHR_JSON_SHOWN_MAX];
  chr_json_show(ids[first], strlen(ids[first]), CHR_JSON_SHOWN_MAX - 4, shown);
  return chr_error_set(err, CHR_EFORMAT,
                       "/image_ids: id '%s' at rows %lld and %lld (expected unique ids%s)", shown,
                       (long long)first, (long long)second,
                       spacepad ? "; /image_ids is a space-padded string type (H5T_STR_SPACEPAD), "
                                  "where trailing spaces are padding, not part of an id"
                                : "");
}

chr_status chr_dataset_read_strings(chr_dataset *ds, char ***ids, char ***paths, chr_error *err) {
  chr_status st = CHR_OK;
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  char **id_list = NULL, **path_list = NULL;
  *ids = NULL;
  *paths = NULL;
  int spacepad = 0;
  if ((st = read_string_dataset(ds->file, "/image_ids", ds->n, &id_list, &spacepad, err)) != CHR_OK)
    goto cleanup;
  if ((st = check_unique(id_list, ds->n, spacepad, err)) != CHR_OK) goto cleanup;
  if (ds->has_file_paths && (st = read_string_dataset(ds->file, "/file_paths", ds->n, &path_list,
                                                      &spacepad, err)) != CHR_OK)
    goto cleanup;
  *ids = id_list;
  *paths = path_list;
  id_list = NULL;
  path_list = NULL;
cleanup:
  free(id_list);
  free(path_list);
  chr_h5_quiet_end(&quiet);
  return st;
}

void chr_strings_free(char **strings, int64_t count) {
  (void)count; /* one block: see read_string_dataset */
  free(strings);
}

/* A NaN weight would end an image's palette early in the report, a negative one would make no
 * sense: every weight must be finite and >= 0. */
chr_status chr_dataset_check_palette_weights(const float *weights, int64_t n, chr_error *err) {
  for (int64_t i = 0; i < n * CHR_PALETTE_MAX; ++i) {
    float w = weights[i];
    if (isnan(w) || isinf(w) || w < 0) /* NAN: a NaN with its sign bit set would print "-nan" */
      return chr_error_set(
          err, CHR_EFORMAT, "/palette_weights row %lld: slot %d is %g (expected finite, >= 0)",
          (long long)(i / CHR_PALETTE_MAX), (int)(i % CHR_PALETTE_MAX), isnan(w) ? NAN : (double)w);
  }
  return CHR_OK;
}

chr_status chr_dataset_read_palettes(chr_dataset *ds, chr_rgb *palettes, float *weights,
                                     chr_error *err) {
  chr_status st = CHR_OK;
  hid_t pal = H5I_INVALID_HID, palw = H5I_INVALID_HID;
  uint8_t *bytes = NULL;
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  if (!ds->has_palettes) {
    st = chr_error_set(err, CHR_EINVAL,
                       "/palettes: not in this dataset (expected a dataset with "
                       "/palettes and /palette_weights)");
    goto cleanup;
  }
  size_t entries = (size_t)ds->n * CHR_PALETTE_MAX;
  /* chr_rgb is three bytes wherever the compiler packs it so: read in place, no copy. */
  int in_place = sizeof(chr_rgb) == 3;
  if ((bytes = in_place ? (uint8_t *)palettes : malloc(entries * 3)) == NULL) {
    st = chr_error_set(err, CHR_ENOMEM, "/palettes: out of memory for %lld palettes",
                       (long long)ds->n);
    goto cleanup;
  }
  if ((pal = H5Dopen2(ds->file, "/palettes", H5P_DEFAULT)) < 0 ||
      H5Dread(pal, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes) < 0) {
    st = chr_error_set(err, CHR_EIO, "/palettes: cannot be read");
    goto cleanup;
  }
  if ((palw = H5Dopen2(ds->file, "/palette_weights", H5P_DEFAULT)) < 0 ||
      H5Dread(palw, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, weights) < 0) {
    st = chr_error_set(err, CHR_EIO, "/palette_weights: cannot be read");
    goto cleanup;
  }
  if ((st = chr_dataset_check_palette_weights(weights, ds->n, err)) != CHR_OK) goto cleanup;
  for (size_t i = 0; i < entries && !in_place; ++i) {
    palettes[i].r = bytes[3 * i];
    palettes[i].g = bytes[3 * i + 1];
    palettes[i].b = bytes[3 * i + 2];
  }
cleanup:
  if (bytes != (uint8_t *)palettes) free(bytes);
  if (palw >= 0) H5Dclose(palw);
  if (pal >= 0) H5Dclose(pal);
  chr_h5_quiet_end(&quiet);
  return st;
}
