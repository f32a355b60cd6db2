/* The stored index of a format-2 dataset: checking its metadata against the histograms,
 * reading row and entry ranges, and writing it into an existing file (see
 * include/chromatica/dataset_index.h). No MPI calls. */
#define _DEFAULT_SOURCE /* mmap flags */
#include "chromatica/dataset_index.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chromatica/grid.h"
#include "chromatica/scan.h"
#include "dataset_attrs.h"
#include "h5_quiet.h"

#define REBUILD "rebuild it with `chromatica index FILE`"

/* Reads the scalar integer attribute `name` of obj into *out; 0 when it is missing or not a
 * single integer. */
static int read_int_attr(hid_t obj, const char *name, hid_t mem_type, void *out) {
  if (H5Aexists(obj, name) <= 0) return 0;
  hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
  if (attr < 0) return 0;
  hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
  int ok = type >= 0 && space >= 0 && H5Tget_class(type) == H5T_INTEGER &&
           H5Sget_simple_extent_npoints(space) == 1 && H5Aread(attr, mem_type, out) >= 0;
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  H5Aclose(attr);
  return ok;
}

/* The length of the one-dimensional dataset `name`, or -1 when it is not one of element
 * class cls and byte size `size`. */
static int64_t vector_length(hid_t file, const char *name, H5T_class_t cls, size_t size) {
  if (H5Lexists(file, name, H5P_DEFAULT) <= 0) return -1;
  hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
  if (dset < 0) return -1;
  hid_t type = H5Dget_type(dset), space = H5Dget_space(dset);
  hsize_t dims[1] = {0};
  int64_t n = -1;
  if (type >= 0 && space >= 0 && H5Tget_class(type) == cls && H5Tget_size(type) == size &&
      H5Sget_simple_extent_ndims(space) == 1 && H5Sget_simple_extent_dims(space, dims, NULL) == 1)
    n = (int64_t)dims[0];
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  H5Dclose(dset);
  return n;
}

/* read_int_attr on the group /index. */
static int read_attr_in(hid_t file, const char *name, hid_t mem_type, void *out) {
  hid_t group = H5Gopen2(file, "/index", H5P_DEFAULT);
  int ok = group >= 0 && read_int_attr(group, name, mem_type, out);
  if (group >= 0) H5Gclose(group);
  return ok;
}

static chr_status check_attrs(hid_t file, int64_t images, chr_index_meta *m, chr_error *err) {
  hid_t group = H5Gopen2(file, "/index", H5P_DEFAULT);
  if (group < 0) return chr_error_set(err, CHR_EFORMAT, "/index: not a group (%s)", REBUILD);
  int version = 0, bins = 0;
  int ok = read_int_attr(group, "index_version", H5T_NATIVE_INT, &version) &&
           read_int_attr(group, "rows", H5T_NATIVE_INT64, &m->rows) &&
           read_int_attr(group, "bins", H5T_NATIVE_INT, &bins) &&
           read_int_attr(group, "nnz", H5T_NATIVE_INT64, &m->nnz) &&
           read_int_attr(group, "checksum", H5T_NATIVE_UINT64, &m->checksum);
  H5Gclose(group);
  if (!ok)
    return chr_error_set(err, CHR_EFORMAT,
                         "/index: attributes index_version, rows, bins, nnz and checksum "
                         "expected as single integers (%s)",
                         REBUILD);
  /* Version 1 lacks the summaries and version 2 the duplicate groups, which a search can
   * compute from the rows. */
  if (version < 1 || version > CHR_INDEX_VERSION)
    return chr_error_set(err, CHR_EFORMAT, "/index: index_version %d (expected 1 to %d; %s)",
                         version, CHR_INDEX_VERSION, REBUILD);
  m->summaries = version >= 2;
  m->duplicates = version >= 3;
  /* Optional, any version: a missing or unreadable one means the ids are checked in full. */
  if (!read_attr_in(file, "ids_checksum", H5T_NATIVE_UINT64, &m->ids_checksum)) m->ids_checksum = 0;
  if (m->duplicates &&
      !(read_attr_in(file, "duplicates", H5T_NATIVE_INT64, &m->dup_pairs) &&
        read_attr_in(file, "duplicates_checksum", H5T_NATIVE_UINT64, &m->dup_checksum) &&
        m->dup_pairs >= 0 && m->dup_pairs < images))
    return chr_error_set(err, CHR_EFORMAT,
                         "/index: attributes duplicates and duplicates_checksum expected as "
                         "single integers, duplicates in [0, %lld) (index_version 3 stores "
                         "them; %s)",
                         (long long)images, REBUILD);
  if (m->rows != images || bins != CHR_BINS || m->nnz < 0)
    return chr_error_set(err, CHR_EFORMAT,
                         "/index: rows %lld, bins %d, nnz %lld (expected %lld rows, %d bins: the "
                         "index is not that of these histograms; %s)",
                         (long long)m->rows, bins, (long long)m->nnz, (long long)images, CHR_BINS,
                         REBUILD);
  return CHR_OK;
}

/* 1 when dataset name is a [cols, rows] dataset of class cls and byte size `size` (unsigned
 * when an integer). */
static int columns_ok(hid_t file, const char *name, H5T_class_t cls, size_t size, hsize_t cols,
                      int64_t rows) {
  if (H5Lexists(file, name, H5P_DEFAULT) <= 0) return 0;
  hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
  if (dset < 0) return 0;
  hid_t type = H5Dget_type(dset), space = H5Dget_space(dset);
  hsize_t dims[2] = {0, 0};
  int ok = type >= 0 && space >= 0 && H5Tget_class(type) == cls && H5Tget_size(type) == size &&
           (cls != H5T_INTEGER || H5Tget_sign(type) == H5T_SGN_NONE) &&
           H5Sget_simple_extent_ndims(space) == 2 &&
           H5Sget_simple_extent_dims(space, dims, NULL) == 2 && dims[0] == cols &&
           dims[1] == (hsize_t)rows;
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  H5Dclose(dset);
  return ok;
}

/* 1 when /index/duplicates is a signed int64 [n, 2] dataset. */
static int pairs_ok(hid_t file, int64_t n) {
  if (H5Lexists(file, "/index/duplicates", H5P_DEFAULT) <= 0) return 0;
  hid_t dset = H5Dopen2(file, "/index/duplicates", H5P_DEFAULT);
  if (dset < 0) return 0;
  hid_t type = H5Dget_type(dset), space = H5Dget_space(dset);
  hsize_t dims[2] = {0, 0};
  int ok = type >= 0 && space >= 0 && H5Tget_class(type) == H5T_INTEGER && H5Tget_size(type) == 8 &&
           H5Tget_sign(type) == H5T_SGN_2 && H5Sget_simple_extent_ndims(space) == 2 &&
           H5Sget_simple_extent_dims(space, dims, NULL) == 2 && dims[0] == (hsize_t)n &&
           dims[1] == 2;
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  H5Dclose(dset);
  return ok;
}

static chr_status check_lengths(hid_t file, const chr_index_meta *m, chr_error *err) {
  int64_t offsets = vector_length(file, "/index/offsets", H5T_INTEGER, 8);
  int64_t bins = vector_length(file, "/index/bins", H5T_INTEGER, 2);
  int64_t mass = vector_length(file, "/index/mass", H5T_FLOAT, 4);
  if (offsets != m->rows + 1)
    return chr_error_set(err, CHR_EFORMAT,
                         "/index/offsets: length %lld (expected int64 [%lld]: truncated or "
                         "foreign; %s)",
                         (long long)offsets, (long long)(m->rows + 1), REBUILD);
  if (columns_ok(file, "/index/roots", H5T_INTEGER, 2, CHR_BINS, m->rows) == 0)
    return chr_error_set(err, CHR_EFORMAT,
                         "/index/roots: missing or not uint16 [%d, %lld] (truncated or foreign; "
                         "%s)",
                         CHR_BINS, (long long)m->rows, REBUILD);
  if (m->summaries && (columns_ok(file, "/index/centroid", H5T_FLOAT, 4, 3, m->rows) == 0 ||
                       columns_ok(file, "/index/cdf", H5T_INTEGER, 1, CHR_INDEX_CDF, m->rows) == 0))
    return chr_error_set(err, CHR_EFORMAT,
                         "/index/centroid, /index/cdf: missing or not float32 [3, %lld] and "
                         "uint8 [%d, %lld] (index_version 2 stores them: truncated or foreign; "
                         "%s)",
                         (long long)m->rows, CHR_INDEX_CDF, (long long)m->rows, REBUILD);
  if (m->duplicates && !pairs_ok(file, m->dup_pairs))
    return chr_error_set(err, CHR_EFORMAT,
                         "/index/duplicates: missing or not int64 [%lld, 2] (index_version 3 "
                         "stores the duplicate groups: truncated or foreign; %s)",
                         (long long)m->dup_pairs, REBUILD);
  if (bins != m->nnz || mass != m->nnz)
    return chr_error_set(err, CHR_EFORMAT,
                         "/index/bins, /index/mass: lengths %lld, %lld (expected uint16 and "
                         "float32 [%lld]: truncated or foreign; %s)",
                         (long long)bins, (long long)mass, (long long)m->nnz, REBUILD);
  return CHR_OK;
}

chr_status chr_dataset_index_meta(chr_dataset *ds, chr_index_meta *meta, chr_error *err) {
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  hid_t file = chr_dataset_file_id(ds);
  int version = chr_dataset_format_version(ds);
  chr_status st = CHR_OK;
  *meta = (chr_index_meta){0};
  htri_t exists = H5Lexists(file, "index", H5P_DEFAULT);
  if (version == 1 && exists <= 0) goto cleanup;
  if (version == 1) {
    st = chr_error_set(err, CHR_EFORMAT,
                       "/index: present but root attribute 'format_version' "
                       "is 1 (expected 2 with an index; %s)",
                       REBUILD);
    goto cleanup;
  }
  if (exists <= 0) {
    st = chr_error_set(err, CHR_EFORMAT,
                       "/index: missing (root attribute 'format_version' 2 "
                       "expects the stored index; %s)",
                       REBUILD);
    goto cleanup;
  }
  if ((st = check_attrs(file, chr_dataset_images(ds), meta, err)) != CHR_OK) goto cleanup;
  if ((st = check_lengths(file, meta, err)) != CHR_OK) goto cleanup;
  hid_t hist = H5Dopen2(file, "/histograms", H5P_DEFAULT);
  uint64_t token = 0;
  int has = hist >= 0 && read_int_attr(hist, "index_checksum", H5T_NATIVE_UINT64, &token);
  if (hist >= 0) H5Dclose(hist);
  if (!has || token != meta->checksum) {
    st = chr_error_set(err, CHR_EFORMAT,
                       "/histograms: attribute index_checksum %s (expected %016llx, that of "
                       "/index: the histograms were rewritten after the index was written; %s)",
                       has ? "differs" : "missing", (unsigned long long)meta->checksum, REBUILD);
    goto cleanup;
  }
  meta->present = 1;
cleanup:
  if (st != CHR_OK) *meta = (chr_index_meta){0};
  chr_h5_quiet_end(&quiet);
  return st;
}

/* Reads or writes elements [first, first + count) of a one-dimensional dataset (count 0:
 * nothing, still joining a collective transfer). */
static herr_t transfer(hid_t dset, int write, hid_t mem_type, int64_t first, int64_t count,
                       void *buf, hid_t dxpl) {
  hsize_t start = (hsize_t)first, n = (hsize_t)(count > 0 ? count : 1);
  hid_t fspace = H5Dget_space(dset), mspace = H5Screate_simple(1, &n, NULL);
  herr_t rc = -1;
  char dummy[8];
  if (fspace < 0 || mspace < 0) goto cleanup;
  if (count == 0 ? H5Sselect_none(fspace) < 0 || H5Sselect_none(mspace) < 0
                 : H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &n, NULL) < 0)
    goto cleanup;
  void *b = count > 0 ? buf : dummy;
  rc = write ? H5Dwrite(dset, mem_type, mspace, fspace, dxpl, b)
             : H5Dread(dset, mem_type, mspace, fspace, dxpl, b);
cleanup:
  if (mspace >= 0) H5Sclose(mspace);
  if (fspace >= 0) H5Sclose(fspace);
  return rc;
}

static chr_status read_vector(chr_dataset *ds, const char *name, hid_t mem_type, int64_t first,
                              int64_t count, void *buf, hid_t dxpl, chr_error *err) {
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  hid_t dset = H5Dopen2(chr_dataset_file_id(ds), name, H5P_DEFAULT);
  chr_status st = CHR_OK;
  if (dset < 0 || transfer(dset, 0, mem_type, first, count, buf, dxpl) < 0)
    st = chr_error_set(err, CHR_EIO, "%s: reading [%lld, %lld) failed (truncated file?)", name,
                       (long long)first, (long long)(first + count));
  if (dset >= 0) H5Dclose(dset);
  chr_h5_quiet_end(&quiet);
  return st;
}

chr_status chr_dataset_index_read_offsets(chr_dataset *ds, int64_t first, int64_t count,
                                          int64_t *offsets, hid_t dxpl, chr_error *err) {
  return read_vector(ds, "/index/offsets", H5T_NATIVE_INT64, first, count + 1, offsets, dxpl, err);
}

chr_status chr_dataset_index_read_entries(chr_dataset *ds, int64_t first, int64_t count,
                                          uint16_t *bins, float *mass, hid_t dxpl, chr_error *err) {
  chr_status st = read_vector(ds, "/index/bins", H5T_NATIVE_UINT16, first, count, bins, dxpl, err);
  if (st == CHR_OK)
    st = read_vector(ds, "/index/mass", H5T_NATIVE_FLOAT, first, count, mass, dxpl, err);
  return st;
}

/* Reads rows [first, first + count) of the [cols, N] dataset name into out (cols columns of
 * count values). Independent reads. */
static chr_status read_columns(chr_dataset *ds, const char *name, hid_t mem_type, hsize_t cols,
                               int64_t first, int64_t count, void *out, chr_error *err) {
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  hsize_t start[2] = {0, (hsize_t)first}, n[2] = {cols, (hsize_t)count};
  hid_t dset = H5Dopen2(chr_dataset_file_id(ds), name, H5P_DEFAULT);
  hid_t fspace = dset >= 0 ? H5Dget_space(dset) : H5I_INVALID_HID;
  hid_t mspace = H5Screate_simple(2, n, NULL);
  chr_status st = CHR_OK;
  if (fspace < 0 || mspace < 0 ||
      H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, n, NULL) < 0 ||
      H5Dread(dset, mem_type, mspace, fspace, H5P_DEFAULT, out) < 0)
    st = chr_error_set(err, CHR_EIO, "%s: reading rows [%lld, %lld) failed", name, (long long)first,
                       (long long)(first + count));
  if (mspace >= 0) H5Sclose(mspace);
  if (fspace >= 0) H5Sclose(fspace);
  if (dset >= 0) H5Dclose(dset);
  chr_h5_quiet_end(&quiet);
  return st;
}

chr_status chr_dataset_index_read_roots(chr_dataset *ds, int64_t first, int64_t count,
                                        uint16_t *out, chr_error *err) {
  return read_columns(ds, "/index/roots", H5T_NATIVE_UINT16, CHR_BINS, first, count, out, err);
}

chr_status chr_dataset_index_read_summaries(chr_dataset *ds, int64_t first, int64_t count,
                                            float *centroid, uint8_t *cdf, chr_error *err) {
  chr_status st =
      read_columns(ds, "/index/centroid", H5T_NATIVE_FLOAT, 3, first, count, centroid, err);
  if (st == CHR_OK)
    st = read_columns(ds, "/index/cdf", H5T_NATIVE_UINT8, CHR_INDEX_CDF, first, count, cdf, err);
  return st;
}

struct chr_roots_map {
  void *base;
  size_t length;
  void *copy; /* the data, copied to the heap when the file does not align it (see below) */
};

void chr_roots_unmap(void *p) {
  chr_roots_map *m = p;
  if (m == NULL) return;
  if (m->base != NULL) munmap(m->base, m->length);
  free(m->copy);
  free(m);
}

/* The file offset and byte length of dataset name, which must be contiguous, stored as
 * file_type (little-endian, the native order here) and allocated. */
static chr_status extent(chr_dataset *ds, const char *name, hid_t file_type, haddr_t *offset,
                         size_t *bytes, chr_error *err) {
  hid_t dset = H5Dopen2(chr_dataset_file_id(ds), name, H5P_DEFAULT);
  hid_t type = dset >= 0 ? H5Dget_type(dset) : H5I_INVALID_HID;
  *offset = dset >= 0 ? H5Dget_offset(dset) : HADDR_UNDEF;
  *bytes = dset >= 0 ? (size_t)H5Dget_storage_size(dset) : 0;
  int native = type >= 0 && H5Tequal(type, file_type) > 0;
  if (type >= 0) H5Tclose(type);
  if (dset >= 0) H5Dclose(dset);
  if (*offset == HADDR_UNDEF || !native)
    return chr_error_set(err, CHR_EFORMAT,
                         "%s: not a contiguous little-endian dataset (expected as `chromatica "
                         "index` writes it; %s)",
                         name, REBUILD);
  return CHR_OK;
}

/* Replaces the mapping of m by a heap copy of its `bytes` bytes at *data. */
static chr_status copy_mapped(chr_roots_map *m, const void **data, size_t bytes, chr_error *err) {
  m->copy = malloc(bytes > 0 ? bytes : 1);
  if (m->copy == NULL)
    return chr_error_set(err, CHR_ENOMEM, "out of memory copying %zu bytes of /index", bytes);
  memcpy(m->copy, *data, bytes);
  munmap(m->base, m->length);
  m->base = NULL;
  *data = m->copy;
  return CHR_OK;
}

/* Maps dataset name (want bytes) read-only into a new map; *data receives its first byte. */
static chr_status map_dataset(chr_dataset *ds, const char *path, const char *name, hid_t file_type,
                              size_t want, chr_roots_map **map, const void **data, chr_error *err) {
  chr_roots_map *m = calloc(1, sizeof *m);
  int fd = -1;
  haddr_t offset = HADDR_UNDEF;
  size_t bytes = 0;
  struct stat info;
  chr_status st = m == NULL ? chr_error_set(err, CHR_ENOMEM, "out of memory") : CHR_OK;
  if (st == CHR_OK) st = extent(ds, name, file_type, &offset, &bytes, err);
  if (st == CHR_OK && bytes != want)
    st = chr_error_set(err, CHR_EFORMAT, "%s: %zu bytes stored (expected %zu; %s)", name, bytes,
                       want, REBUILD);
  if (st == CHR_OK && ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &info) != 0))
    st = chr_error_set(err, CHR_EIO, "%s: cannot open the file to map it (%s)", name,
                       strerror(errno));
  if (st == CHR_OK && (uint64_t)info.st_size < (uint64_t)offset + bytes)
    st = chr_error_set(err, CHR_EFORMAT,
                       "%s: ends at byte %llu of a %lld-byte file (truncated file; %s)", name,
                       (unsigned long long)(offset + bytes), (long long)info.st_size, REBUILD);
  if (st == CHR_OK) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE), skip = (size_t)(offset % page);
    m->length = bytes + skip + 1; /* + 1: never a zero-length mapping */
    m->base = mmap(NULL, m->length, PROT_READ, MAP_SHARED, fd, (off_t)(offset - skip));
    if (m->base == MAP_FAILED) {
      m->base = NULL;
      st = chr_error_set(err, CHR_EIO, "%s: cannot be mapped (%s)", name, strerror(errno));
    } else {
      *data = (const char *)m->base + skip;
    }
  }
  /* HDF5 places a dataset at any byte unless the file asked for alignment (files written
   * before `chromatica index` did), and a float read through a misaligned pointer is undefined:
   * such a dataset is copied once to the heap instead of used in place. */
  if (st == CHR_OK && offset % H5Tget_size(file_type) != 0) st = copy_mapped(m, data, bytes, err);
  if (fd >= 0) close(fd);
  if (st != CHR_OK) {
    chr_roots_unmap(m);
    m = NULL;
  }
  *map = m;
  return st;
}

/* One dataset of /index to map: its name, file type, size in bytes, and where its map and data
 * go. */
typedef struct {
  const char *name;
  hid_t type;
  size_t bytes;
  chr_roots_map **map;
  const void **data;
} map_request;

/* Maps each request in turn; stops at the first failure, leaving the maps not made NULL. */
static chr_status map_all(chr_dataset *ds, const char *path, const map_request *r, int n,
                          chr_error *err) {
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  for (int i = 0; i < n; ++i) *r[i].map = NULL;
  chr_status st = CHR_OK;
  for (int i = 0; i < n && st == CHR_OK; ++i)
    st = map_dataset(ds, path, r[i].name, r[i].type, r[i].bytes, r[i].map, r[i].data, err);
  chr_h5_quiet_end(&quiet);
  return st;
}

chr_status chr_dataset_index_map_roots(chr_dataset *ds, const char *path, chr_roots_map **map,
                                       const uint16_t **roots, chr_error *err) {
  const void *data = NULL;
  size_t want = (size_t)CHR_BINS * (size_t)chr_dataset_images(ds) * sizeof(uint16_t);
  const map_request r[] = {{"/index/roots", H5T_STD_U16LE, want, map, &data}};
  chr_status st = map_all(ds, path, r, 1, err);
  *roots = data;
  return st;
}

chr_status chr_dataset_index_map_entries(chr_dataset *ds, const char *path, int64_t nnz,
                                         chr_roots_map **bins_map, const uint16_t **bins,
                                         chr_roots_map **mass_map, const float **mass,
                                         chr_error *err) {
  const void *b = NULL, *m = NULL;
  const map_request r[] = {{"/index/bins", H5T_STD_U16LE, (size_t)nnz * 2, bins_map, &b},
                           {"/index/mass", H5T_IEEE_F32LE, (size_t)nnz * 4, mass_map, &m}};
  chr_status st = map_all(ds, path, r, 2, err);
  *bins = b;
  *mass = m;
  return st;
}

chr_status chr_dataset_index_map_summaries(chr_dataset *ds, const char *path,
                                           chr_roots_map **centroid_map, const float **centroid,
                                           chr_roots_map **cdf_map, const uint8_t **cdf,
                                           chr_error *err) {
  const void *c = NULL, *d = NULL;
  size_t n = (size_t)chr_dataset_images(ds);
  const map_request r[] = {{"/index/centroid", H5T_IEEE_F32LE, 3 * n * 4, centroid_map, &c},
                           {"/index/cdf", H5T_STD_U8LE, CHR_INDEX_CDF * n, cdf_map, &d}};
  chr_status st = map_all(ds, path, r, 2, err);
  *centroid = c;
  *cdf = d;
  return st;
}

/* The stored pairs as two arrays: *row and *rep (malloc'd, n each). */
static chr_status read_pairs(chr_dataset *ds, int64_t n, int64_t **row, int64_t **rep,
                             chr_error *err) {
  int64_t *both = malloc((size_t)(n > 0 ? n : 1) * 2 * sizeof *both);
  *row = malloc((size_t)(n > 0 ? n : 1) * sizeof **row);
  *rep = malloc((size_t)(n > 0 ? n : 1) * sizeof **rep);
  chr_status st = CHR_OK;
  if (both == NULL || *row == NULL || *rep == NULL)
    st = chr_error_set(err, CHR_ENOMEM, "/index/duplicates: cannot hold %lld pairs", (long long)n);
  hid_t dset = st == CHR_OK && n > 0
                   ? H5Dopen2(chr_dataset_file_id(ds), "/index/duplicates", H5P_DEFAULT)
                   : H5I_INVALID_HID;
  if (st == CHR_OK && n > 0 &&
      (dset < 0 || H5Dread(dset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, both) < 0))
    st = chr_error_set(err, CHR_EIO,
                       "/index/duplicates: reading %lld pairs failed (truncated "
                       "file?)",
                       (long long)n);
  if (dset >= 0) H5Dclose(dset);
  for (int64_t i = 0; st == CHR_OK && i < n; ++i) {
    (*row)[i] = both[2 * i];
    (*rep)[i] = both[2 * i + 1];
  }
  free(both);
  return st;
}

chr_status chr_dataset_index_read_duplicates(chr_dataset *ds, const chr_index_meta *meta,
                                             chr_dups *out, chr_error *err) {
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  int64_t *row = NULL, *rep = NULL, n = meta->dup_pairs;
  memset(out, 0, sizeof *out);
  chr_status st = read_pairs(ds, n, &row, &rep, err);
  if (st == CHR_OK)
    st = chr_dups_check_pairs(row, rep, n, chr_dataset_images(ds), "/index/duplicates", err);
  uint64_t sum = st == CHR_OK ? chr_dups_checksum(row, rep, n, meta->checksum) : 0;
  if (st == CHR_OK && sum != meta->dup_checksum)
    st = chr_error_set(err, CHR_EFORMAT,
                       "/index/duplicates: fingerprint %016llx (expected %016llx, its "
                       "duplicates_checksum attribute: the groups are stale, foreign or were "
                       "modified; %s)",
                       (unsigned long long)sum, (unsigned long long)meta->dup_checksum, REBUILD);
  if (st == CHR_OK) st = chr_dups_create(row, rep, n, out, err);
  free(row);
  free(rep);
  chr_h5_quiet_end(&quiet);
  return st;
}
