/* Writing the stored index into an existing dataset file (see
 * include/chromatica/dataset_index.h). The file is opened read-write: callers write into a
 * temporary copy that they rename over the original only when it is complete, so the old file
 * survives any failure. No MPI calls. */
#include <stdlib.h>

#include "chromatica/dataset_index.h"
#include "chromatica/grid.h"
#include "chromatica/scan.h"
#include "h5_quiet.h"

struct chr_index_writer {
  hid_t file, group, offsets, bins, mass, roots, centroid, cdf;
  int64_t rows, nnz;
  int64_t dup_pairs; /* -1 until chr_index_writer_put_duplicates */
  uint64_t dup_checksum;
  uint64_t ids; /* the ids' fingerprint, 0: not recorded */
};

/* A contiguous dataset of n elements, or of `cols` columns of n elements each when cols > 0
 * (contiguous: each rank's range is one byte range for MPI-IO, and a reader reads or maps it
 * without chunk lookups). */
static hid_t make_array(hid_t group, const char *name, hid_t type, int cols, int64_t n) {
  hsize_t dims[2] = {cols > 0 ? (hsize_t)cols : (hsize_t)n, (hsize_t)n};
  hid_t space = H5Screate_simple(cols > 0 ? 2 : 1, dims, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hid_t dset = H5I_INVALID_HID;
  if (space >= 0 && dcpl >= 0 && H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) >= 0)
    dset = H5Dcreate2(group, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (space >= 0) H5Sclose(space);
  return dset;
}

chr_status chr_index_writer_create(const char *path, hid_t fapl, int64_t rows, int64_t nnz,
                                   chr_index_writer **out, chr_error *err) {
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  chr_status st = CHR_OK;
  *out = NULL;
  chr_index_writer *w = calloc(1, sizeof *w);
  if (w == NULL) {
    st = chr_error_set(err, CHR_ENOMEM, "out of memory for the index writer");
    goto cleanup;
  }
  w->group = w->offsets = w->bins = w->mass = w->roots = H5I_INVALID_HID;
  w->centroid = w->cdf = H5I_INVALID_HID;
  w->rows = rows;
  w->nnz = nnz;
  w->dup_pairs = -1;
  /* Large objects start at a multiple of 64 bytes, so a search can map the arrays in place
   * (the reader copies any it finds misaligned). */
  w->file = H5I_INVALID_HID;
  hid_t aligned = fapl == H5P_DEFAULT ? H5Pcreate(H5P_FILE_ACCESS) : H5Pcopy(fapl);
  if (aligned >= 0 && H5Pset_alignment(aligned, 4096, 64) >= 0)
    w->file = H5Fopen(path, H5F_ACC_RDWR, aligned);
  if (aligned >= 0) H5Pclose(aligned);
  if (aligned < 0 || w->file < 0) {
    st = chr_error_set(err, CHR_EIO, "cannot open it for writing the index");
    goto cleanup;
  }
  if (H5Lexists(w->file, "index", H5P_DEFAULT) > 0 &&
      H5Ldelete(w->file, "index", H5P_DEFAULT) < 0) {
    st = chr_error_set(err, CHR_EIO, "/index: the old index cannot be removed");
    goto cleanup;
  }
  if ((w->group = H5Gcreate2(w->file, "index", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
      (w->offsets = make_array(w->group, "offsets", H5T_STD_I64LE, 0, rows + 1)) < 0 ||
      (w->bins = make_array(w->group, "bins", H5T_STD_U16LE, 0, nnz)) < 0 ||
      (w->mass = make_array(w->group, "mass", H5T_IEEE_F32LE, 0, nnz)) < 0 ||
      (w->roots = make_array(w->group, "roots", H5T_STD_U16LE, CHR_BINS, rows)) < 0 ||
      (w->centroid = make_array(w->group, "centroid", H5T_IEEE_F32LE, 3, rows)) < 0 ||
      (w->cdf = make_array(w->group, "cdf", H5T_STD_U8LE, CHR_INDEX_CDF, rows)) < 0) {
    st = chr_error_set(err, CHR_EIO, "/index: cannot be created (%lld rows, %lld entries)",
                       (long long)rows, (long long)nnz);
    goto cleanup;
  }
  *out = w;
  w = NULL;
cleanup:
  chr_index_writer_abandon(&w);
  chr_h5_quiet_end(&quiet);
  return st;
}

/* Writes elements [first, first + count) of a one-dimensional dataset (count 0: joins a
 * collective transfer only). */
static herr_t put(hid_t dset, hid_t mem_type, int64_t first, int64_t count, const void *buf,
                  hid_t dxpl) {
  hsize_t start = (hsize_t)first, n = (hsize_t)(count > 0 ? count : 1);
  hid_t fspace = H5Dget_space(dset), mspace = H5Screate_simple(1, &n, NULL);
  herr_t rc = -1;
  static const char dummy[8];
  if (fspace >= 0 && mspace >= 0 &&
      (count == 0 ? H5Sselect_none(fspace) >= 0 && H5Sselect_none(mspace) >= 0
                  : H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &n, NULL) >= 0))
    rc = H5Dwrite(dset, mem_type, mspace, fspace, dxpl, count > 0 ? buf : dummy);
  if (mspace >= 0) H5Sclose(mspace);
  if (fspace >= 0) H5Sclose(fspace);
  return rc;
}

/* The outcome of one write of rows [first, first + count): ok, or an error naming the objects. */
static chr_status written(int ok, const char *what, int64_t first, int64_t count, chr_error *err) {
  if (ok) return CHR_OK;
  return chr_error_set(err, CHR_EIO, "%s [%lld, %lld) failed", what, (long long)first,
                       (long long)(first + count));
}

chr_status chr_index_writer_put_offsets(chr_index_writer *w, int64_t first, int64_t count,
                                        const int64_t *offsets, hid_t dxpl, chr_error *err) {
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  int ok = put(w->offsets, H5T_NATIVE_INT64, first, count, offsets, dxpl) >= 0;
  chr_h5_quiet_end(&quiet);
  return written(ok, "/index/offsets: writing", first, count, err);
}

chr_status chr_index_writer_put_entries(chr_index_writer *w, int64_t first, int64_t count,
                                        const uint16_t *bins, const float *mass, hid_t dxpl,
                                        chr_error *err) {
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  int ok = put(w->bins, H5T_NATIVE_UINT16, first, count, bins, dxpl) >= 0 &&
           put(w->mass, H5T_NATIVE_FLOAT, first, count, mass, dxpl) >= 0;
  chr_h5_quiet_end(&quiet);
  return written(ok, "/index/bins, /index/mass: writing", first, count, err);
}

/* Writes rows [first, first + count) of the [cols, rows] dataset dset from block (cols
 * columns of count values; count 0: joins a collective transfer only). */
static int put_columns(hid_t dset, hid_t mem_type, int cols, int64_t first, int64_t count,
                       const void *block, hid_t dxpl) {
  hsize_t start[2] = {0, (hsize_t)first}, n[2] = {(hsize_t)cols, (hsize_t)(count > 0 ? count : 1)};
  hid_t fspace = H5Dget_space(dset), mspace = H5Screate_simple(2, n, NULL);
  static const uint16_t dummy[CHR_BINS];
  int ok = fspace >= 0 && mspace >= 0 &&
           (count == 0 ? H5Sselect_none(fspace) >= 0 && H5Sselect_none(mspace) >= 0
                       : H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, n, NULL) >= 0) &&
           H5Dwrite(dset, mem_type, mspace, fspace, dxpl, count ? block : dummy) >= 0;
  if (mspace >= 0) H5Sclose(mspace);
  if (fspace >= 0) H5Sclose(fspace);
  return ok;
}

chr_status chr_index_writer_put_roots(chr_index_writer *w, int64_t first, int64_t count,
                                      const uint16_t *block, hid_t dxpl, chr_error *err) {
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  int ok = put_columns(w->roots, H5T_NATIVE_UINT16, CHR_BINS, first, count, block, dxpl);
  chr_h5_quiet_end(&quiet);
  return written(ok, "/index/roots: writing rows", first, count, err);
}

chr_status chr_index_writer_put_summaries(chr_index_writer *w, int64_t first, int64_t count,
                                          const float *centroid, const uint8_t *cdf, hid_t dxpl,
                                          chr_error *err) {
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  int ok = put_columns(w->centroid, H5T_NATIVE_FLOAT, 3, first, count, centroid, dxpl) &&
           put_columns(w->cdf, H5T_NATIVE_UINT8, CHR_INDEX_CDF, first, count, cdf, dxpl);
  chr_h5_quiet_end(&quiet);
  return written(ok, "/index/centroid, /index/cdf: writing rows", first, count, err);
}

/* Creates /index/duplicates [n, 2] and writes pairs [first, first + count) of row/rep into it
 * (count 0: joins a collective transfer only). */
static int put_pairs(hid_t group, int64_t n, int64_t first, int64_t count, const int64_t *row,
                     const int64_t *rep, hid_t dxpl) {
  hsize_t dims[2] = {(hsize_t)n, 2}, start[2] = {(hsize_t)first, 0},
          size[2] = {(hsize_t)(count > 0 ? count : 1), 2};
  int64_t *both = malloc((size_t)size[0] * 2 * sizeof *both);
  hid_t space = H5Screate_simple(2, dims, NULL), mspace = H5Screate_simple(2, size, NULL);
  hid_t dset = space >= 0 ? H5Dcreate2(group, "duplicates", H5T_STD_I64LE, space, H5P_DEFAULT,
                                       H5P_DEFAULT, H5P_DEFAULT)
                          : H5I_INVALID_HID;
  for (int64_t i = 0; both != NULL && i < count; ++i) {
    both[2 * i] = row[first + i];
    both[2 * i + 1] = rep[first + i];
  }
  /* A rank that cannot hold its pairs still joins the collective write, with nothing selected,
   * so the others do not wait for it; it reports the failure afterwards. */
  int64_t none[2] = {0, 0};
  int64_t *data = both != NULL && count > 0 ? both : none;
  int ok =
      dset >= 0 && mspace >= 0 &&
      (data == none ? H5Sselect_none(space) >= 0 && H5Sselect_none(mspace) >= 0
                    : H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, size, NULL) >= 0);
  /* An empty dataset has nothing to write, collectively or not. */
  if (ok && n > 0) ok = H5Dwrite(dset, H5T_NATIVE_INT64, mspace, space, dxpl, data) >= 0;
  if (both == NULL) ok = 0;
  if (dset >= 0 && H5Dclose(dset) < 0) ok = 0;
  if (mspace >= 0) H5Sclose(mspace);
  if (space >= 0) H5Sclose(space);
  free(both);
  return ok;
}

chr_status chr_index_writer_put_duplicates(chr_index_writer *w, const chr_dups *d, int mine,
                                           uint64_t checksum, hid_t dxpl, chr_error *err) {
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  int ok = put_pairs(w->group, d->n, 0, mine ? d->n : 0, d->row, d->rep, dxpl);
  chr_h5_quiet_end(&quiet);
  if (!ok)
    return chr_error_set(err, CHR_EIO, "/index/duplicates: writing %lld pairs failed",
                         (long long)d->n);
  w->dup_pairs = d->n;
  w->dup_checksum = chr_dups_checksum(d->row, d->rep, d->n, checksum);
  return CHR_OK;
}

void chr_index_writer_set_ids(chr_index_writer *w, uint64_t fp) {
  w->ids = fp;
}

/* Creates or replaces the scalar attribute `name` of obj. */
static int put_attr(hid_t obj, const char *name, hid_t file_type, hid_t mem_type,
                    const void *value) {
  if (H5Aexists(obj, name) > 0 && H5Adelete(obj, name) < 0) return 0;
  hid_t space = H5Screate(H5S_SCALAR), attr = H5I_INVALID_HID;
  int ok = space >= 0 &&
           (attr = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
           H5Awrite(attr, mem_type, value) >= 0;
  if (attr >= 0 && H5Aclose(attr) < 0) ok = 0;
  if (space >= 0) H5Sclose(space);
  return ok;
}

chr_status chr_index_writer_close(chr_index_writer **p, uint64_t checksum, chr_error *err) {
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  chr_index_writer *w = *p;
  /* Without stored groups the index is a complete version 2 one. */
  const int version = w->dup_pairs >= 0 ? CHR_INDEX_VERSION : 2, bins = CHR_BINS, format = 2;
  chr_status st = CHR_OK;
  hid_t hist = H5Dopen2(w->file, "/histograms", H5P_DEFAULT);
  int ok = hist >= 0 &&
           put_attr(w->group, "index_version", H5T_STD_I32LE, H5T_NATIVE_INT, &version) &&
           put_attr(w->group, "rows", H5T_STD_I64LE, H5T_NATIVE_INT64, &w->rows) &&
           put_attr(w->group, "bins", H5T_STD_I32LE, H5T_NATIVE_INT, &bins) &&
           put_attr(w->group, "nnz", H5T_STD_I64LE, H5T_NATIVE_INT64, &w->nnz) &&
           put_attr(w->group, "checksum", H5T_STD_U64LE, H5T_NATIVE_UINT64, &checksum) &&
           put_attr(hist, "index_checksum", H5T_STD_U64LE, H5T_NATIVE_UINT64, &checksum) &&
           put_attr(w->file, "format_version", H5T_STD_I32LE, H5T_NATIVE_INT, &format) &&
           (w->dup_pairs < 0 ||
            (put_attr(w->group, "duplicates", H5T_STD_I64LE, H5T_NATIVE_INT64, &w->dup_pairs) &&
             put_attr(w->group, "duplicates_checksum", H5T_STD_U64LE, H5T_NATIVE_UINT64,
                      &w->dup_checksum))) &&
           (w->ids == 0 ||
            put_attr(w->group, "ids_checksum", H5T_STD_U64LE, H5T_NATIVE_UINT64, &w->ids));
  if (hist >= 0) H5Dclose(hist);
  if (!ok) st = chr_error_set(err, CHR_EIO, "/index: its attributes cannot be written");
  hid_t ids[7] = {w->cdf, w->centroid, w->roots, w->mass, w->bins, w->offsets, w->group};
  for (int i = 0; i < 7; ++i)
    if (ids[i] >= 0 && (i < 6 ? H5Dclose(ids[i]) : H5Gclose(ids[i])) < 0 && st == CHR_OK)
      st = chr_error_set(err, CHR_EIO, "/index: cannot be closed");
  if (H5Fclose(w->file) < 0 && st == CHR_OK)
    st = chr_error_set(err, CHR_EIO, "cannot close the file after writing the index");
  free(w);
  *p = NULL;
  chr_h5_quiet_end(&quiet);
  return st;
}

void chr_index_writer_abandon(chr_index_writer **p) {
  if (p == NULL || *p == NULL) return;
  chr_index_writer *w = *p;
  chr_h5_quiet quiet;
  chr_h5_quiet_begin(&quiet);
  if (w->cdf >= 0) H5Dclose(w->cdf);
  if (w->centroid >= 0) H5Dclose(w->centroid);
  if (w->roots >= 0) H5Dclose(w->roots);
  if (w->mass >= 0) H5Dclose(w->mass);
  if (w->bins >= 0) H5Dclose(w->bins);
  if (w->offsets >= 0) H5Dclose(w->offsets);
  if (w->group >= 0) H5Gclose(w->group);
  if (w->file >= 0) H5Fclose(w->file);
  chr_h5_quiet_end(&quiet);
  free(w);
  *p = NULL;
}
