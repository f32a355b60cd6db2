/* Round trip through the writer and reader with serial HDF5 (H5P_DEFAULT), and bad files built
 * by editing a good one with raw HDF5 calls: each must be refused naming the object and row. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chromatica/dataset.h"
#include "chromatica/synth.h"

#define N 20
#define SEED 42

typedef struct {
  char dir[64];
  char path[128];
  int files;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (f == NULL) return -1;
  snprintf(f->dir, sizeof f->dir, "/tmp/chr_test_dataset_XXXXXX");
  if (mkdtemp(f->dir) == NULL) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  char path[128];
  for (int i = 0; i < f->files; ++i) {
    snprintf(path, sizeof path, "%s/f%d.h5", f->dir, i);
    remove(path);
  }
  rmdir(f->dir);
  free(f);
  return 0;
}

/* A fresh file name in the fixture's directory. */
static const char *next_path(fixture *f) {
  snprintf(f->path, sizeof f->path, "%s/f%d.h5", f->dir, f->files++);
  return f->path;
}

static chr_image_row images[N];
static char id_text[N][16], path_text[N][32];
static char *ids[N], *paths[N];

static void make_images(void) {
  for (int i = 0; i < N; ++i) {
    chr_synth_image_make(SEED, i, &images[i]);
    snprintf(id_text[i], sizeof id_text[i], "img%07d", i);
    snprintf(path_text[i], sizeof path_text[i], "synthetic/img%07d.png", i);
    ids[i] = id_text[i];
    paths[i] = path_text[i];
  }
}

/* Writes the N images in two puts (rows 0..7 and 8..N) with the given ids; a growing writer
 * is extended before each put. */
static void write_file_as(const char *path, char *const *id_list, int with_palettes,
                          int growing) {
  static float hists[N * CHR_BINS];
  static chr_rgb pal[N * CHR_PALETTE_MAX];
  static float palw[N * CHR_PALETTE_MAX];
  for (int i = 0; i < N; ++i) {
    memcpy(hists + i * CHR_BINS, images[i].histogram, sizeof images[i].histogram);
    memcpy(pal + i * CHR_PALETTE_MAX, images[i].palette, sizeof images[i].palette);
    memcpy(palw + i * CHR_PALETTE_MAX, images[i].palette_weight, sizeof images[i].palette_weight);
  }
  chr_dataset_writer *w = NULL;
  chr_error err;
  assert_int_equal(chr_dataset_writer_create(path, H5P_DEFAULT, growing ? 0 : N, 16, 32,
                                             with_palettes, &w, &err),
                   CHR_OK);
  if (growing) assert_int_equal(chr_dataset_writer_grow(w, 8, &err), CHR_OK);
  assert_int_equal(chr_dataset_writer_put(w, 0, 8, hists, id_list, paths, pal, palw, H5P_DEFAULT,
                                          &err), CHR_OK);
  assert_int_equal(chr_dataset_writer_put(w, 8, 0, NULL, NULL, NULL, NULL, NULL, H5P_DEFAULT, &err),
                   CHR_OK);
  if (growing) {
    assert_int_equal(chr_dataset_writer_grow(w, 7, &err), CHR_EINVAL); /* never shrinks */
    assert_int_equal(chr_dataset_writer_grow(w, N, &err), CHR_OK);
  } else {
    assert_int_equal(chr_dataset_writer_grow(w, N + 1, &err), CHR_EINVAL); /* fixed size */
  }
  assert_int_equal(chr_dataset_writer_put(w, 8, N - 8, hists + 8 * CHR_BINS, id_list + 8,
                                          paths + 8, pal + 8 * CHR_PALETTE_MAX,
                                          palw + 8 * CHR_PALETTE_MAX, H5P_DEFAULT, &err), CHR_OK);
  assert_int_equal(chr_dataset_writer_close(&w, &err), CHR_OK);
  assert_null(w);
}

static void write_file(const char *path, char *const *id_list, int with_palettes) {
  write_file_as(path, id_list, with_palettes, 0);
}

/* Opens must fail with code and a message containing each of the given fragments. */
static void expect_open_fails(const char *path, chr_status code, const char *a, const char *b) {
  chr_dataset *ds = NULL;
  chr_error err;
  chr_error_clear(&err);
  assert_int_equal(chr_dataset_open(path, H5P_DEFAULT, &ds, &err), code);
  assert_null(ds);
  if (strstr(err.message, a) == NULL || (b && strstr(err.message, b) == NULL))
    fail_msg("message '%s' lacks '%s' / '%s'", err.message, a, b ? b : "");
}

/* Everything written by write_file_as reads back unchanged. */
static void check_round_trip(const char *path) {
  chr_dataset *ds = NULL;
  chr_error err;
  assert_int_equal(chr_dataset_open(path, H5P_DEFAULT, &ds, &err), CHR_OK);
  assert_int_equal(chr_dataset_images(ds), N);
  assert_true(chr_dataset_has_file_paths(ds));
  assert_true(chr_dataset_has_palettes(ds));
  static float rows[N * CHR_BINS];
  assert_int_equal(chr_dataset_read_rows(ds, 0, N, rows, H5P_DEFAULT, &err), CHR_OK);
  for (int i = 0; i < N; ++i)
    assert_memory_equal(rows + i * CHR_BINS, images[i].histogram, sizeof images[i].histogram);
  assert_int_equal(chr_dataset_check_rows(rows, 0, N, &err), CHR_OK);
  assert_int_equal(chr_dataset_read_rows(ds, 5, 3, rows, H5P_DEFAULT, &err), CHR_OK);
  assert_memory_equal(rows, images[5].histogram, sizeof images[5].histogram);
  assert_int_equal(chr_dataset_read_rows(ds, N, 0, rows, H5P_DEFAULT, &err), CHR_OK);
  assert_int_equal(chr_dataset_read_rows(ds, N - 1, 2, rows, H5P_DEFAULT, &err), CHR_EINVAL);
  assert_non_null(strstr(err.message, "/histograms"));

  char **got_ids = NULL, **got_paths = NULL;
  assert_int_equal(chr_dataset_read_strings(ds, &got_ids, &got_paths, &err), CHR_OK);
  assert_non_null(got_paths);
  for (int i = 0; i < N; ++i) {
    assert_string_equal(got_ids[i], ids[i]);
    assert_string_equal(got_paths[i], paths[i]);
  }
  chr_strings_free(got_ids, N);
  chr_strings_free(got_paths, N);

  static chr_rgb pal[N * CHR_PALETTE_MAX];
  static float palw[N * CHR_PALETTE_MAX];
  assert_int_equal(chr_dataset_read_palettes(ds, pal, palw, &err), CHR_OK);
  for (int i = 0; i < N; ++i)
    for (int k = 0; k < CHR_PALETTE_MAX; ++k) {
      assert_int_equal(pal[i * CHR_PALETTE_MAX + k].r, images[i].palette[k].r);
      assert_int_equal(pal[i * CHR_PALETTE_MAX + k].g, images[i].palette[k].g);
      assert_int_equal(pal[i * CHR_PALETTE_MAX + k].b, images[i].palette[k].b);
      assert_true(palw[i * CHR_PALETTE_MAX + k] == images[i].palette_weight[k]);
    }
  chr_dataset_close(&ds);
  assert_null(ds);
  chr_dataset_close(&ds); /* accepts NULL */
}

static void round_trip(void **state) {
  fixture *f = *state;
  const char *path = next_path(f);
  write_file_as(path, ids, 1, 0);
  check_round_trip(path);
}

/* The growing (chunked, extended per put) layout `chromatica build` uses. */
static void round_trip_growing(void **state) {
  fixture *f = *state;
  const char *path = next_path(f);
  write_file_as(path, ids, 1, 1);
  check_round_trip(path);
}

static void without_palettes(void **state) {
  fixture *f = *state;
  const char *path = next_path(f);
  write_file(path, ids, 0);
  chr_dataset *ds = NULL;
  chr_error err;
  assert_int_equal(chr_dataset_open(path, H5P_DEFAULT, &ds, &err), CHR_OK);
  assert_false(chr_dataset_has_palettes(ds));
  chr_rgb pal[N * CHR_PALETTE_MAX];
  float palw[N * CHR_PALETTE_MAX];
  assert_int_equal(chr_dataset_read_palettes(ds, pal, palw, &err), CHR_EINVAL);
  assert_non_null(strstr(err.message, "/palettes"));
  chr_dataset_close(&ds);
}

/* Replaces a root int attribute with the given values. */
static void set_int_attr(const char *path, const char *name, const int *values, hsize_t n) {
  hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  assert_true(file >= 0);
  assert_true(H5Adelete(file, name) >= 0);
  hid_t space = H5Screate_simple(1, &n, NULL);
  hid_t attr = H5Acreate2(file, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
  assert_true(attr >= 0);
  assert_true(H5Awrite(attr, H5T_NATIVE_INT, values) >= 0);
  H5Aclose(attr);
  H5Sclose(space);
  assert_true(H5Fclose(file) >= 0);
}

static void bad_bins_rejected(void **state) {
  fixture *f = *state;
  const char *path = next_path(f);
  write_file(path, ids, 1);
  const int bins[3] = {8, 12, 10};
  set_int_attr(path, "bins", bins, 3);
  expect_open_fails(path, CHR_EFORMAT, "root attribute 'bins': [8, 12, 10]",
                    "(expected [8, 12, 12])");
  set_int_attr(path, "bins", bins, 2);
  expect_open_fails(path, CHR_EFORMAT, "root attribute 'bins'", "2 values");
}

static void bad_version_and_ranges_rejected(void **state) {
  fixture *f = *state;
  const char *path = next_path(f);
  write_file(path, ids, 1);
  const int version = 3;
  set_int_attr(path, "format_version", &version, 1);
  expect_open_fails(path, CHR_EFORMAT, "'format_version': 3", "expected 1 or 2");
  path = next_path(f);
  write_file(path, ids, 1);
  const int ranges[6] = {0, 100, -86, 98, -108, 96};
  set_int_attr(path, "lab_ranges", ranges, 6);
  expect_open_fails(path, CHR_EFORMAT, "'lab_ranges': [0, 100, -86, 98, -108, 96]", NULL);
}

static void wrong_shape_rejected(void **state) {
  fixture *f = *state;
  const char *path = next_path(f);
  write_file(path, ids, 1);
  hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  assert_true(H5Ldelete(file, "histograms", H5P_DEFAULT) >= 0);
  hsize_t dims[2] = {N, 1000};
  hid_t space = H5Screate_simple(2, dims, NULL);
  hid_t d = H5Dcreate2(file, "histograms", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                       H5P_DEFAULT);
  assert_true(d >= 0);
  H5Dclose(d);
  H5Sclose(space);
  H5Fclose(file);
  expect_open_fails(path, CHR_EFORMAT, "/histograms: shape [20, 1000] (expected [N, 1152])", NULL);
}

/* Overwrites entry `entry` of row `row` of /histograms with value, or scales the row. */
static void poke(const char *path, int row, int entry, float value, float scale) {
  hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t d = H5Dopen2(file, "histograms", H5P_DEFAULT);
  assert_true(d >= 0);
  float buf[CHR_BINS];
  hsize_t start[2] = {(hsize_t)row, 0}, count[2] = {1, CHR_BINS};
  hid_t fs = H5Dget_space(d), ms = H5Screate_simple(2, count, NULL);
  assert_true(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0);
  assert_true(H5Dread(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, buf) >= 0);
  for (int j = 0; j < CHR_BINS; ++j) buf[j] *= scale;
  if (entry >= 0) buf[entry] = value;
  assert_true(H5Dwrite(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, buf) >= 0);
  H5Sclose(ms);
  H5Sclose(fs);
  H5Dclose(d);
  H5Fclose(file);
}

/* Opens (must succeed), reads all rows in blocks of 4 and returns the first check failure. */
static chr_status check_file(const char *path, chr_error *err) {
  chr_dataset *ds = NULL;
  assert_int_equal(chr_dataset_open(path, H5P_DEFAULT, &ds, err), CHR_OK);
  static float rows[4 * CHR_BINS];
  chr_status st = CHR_OK;
  for (int first = 0; first < N && st == CHR_OK; first += 4) {
    assert_int_equal(chr_dataset_read_rows(ds, first, 4, rows, H5P_DEFAULT, err), CHR_OK);
    st = chr_dataset_check_rows(rows, first, 4, err);
  }
  chr_dataset_close(&ds);
  return st;
}

static void bad_rows_rejected(void **state) {
  fixture *f = *state;
  chr_error err;
  const char *path = next_path(f);
  write_file(path, ids, 1);
  poke(path, 17, 3, NAN, 1.0f);
  assert_int_equal(check_file(path, &err), CHR_EFORMAT);
  assert_string_equal(err.message, "/histograms row 17: entry 3 is NaN (expected finite, >= 0)");

  path = next_path(f);
  write_file(path, ids, 1);
  poke(path, 4, 10, -0.5f, 1.0f);
  assert_int_equal(check_file(path, &err), CHR_EFORMAT);
  assert_non_null(strstr(err.message, "/histograms row 4: entry 10 is -0.5"));

  path = next_path(f);
  write_file(path, ids, 1);
  poke(path, 9, 0, INFINITY, 1.0f);
  assert_int_equal(check_file(path, &err), CHR_EFORMAT);
  assert_non_null(strstr(err.message, "row 9: entry 0 is inf"));

  path = next_path(f);
  write_file(path, ids, 1);
  poke(path, 5, -1, 0.0f, 0.8f);
  assert_int_equal(check_file(path, &err), CHR_EFORMAT);
  assert_string_equal(err.message, "/histograms row 5: sums to 0.8 (expected 1 within 1e-3)");
}

static void duplicate_ids_rejected(void **state) {
  fixture *f = *state;
  const char *path = next_path(f);
  char *dup[N];
  memcpy(dup, ids, sizeof dup);
  dup[9] = ids[3];
  dup[15] = ids[12];
  dup[18] = ids[3];
  write_file(path, dup, 1);
  chr_dataset *ds = NULL;
  chr_error err;
  assert_int_equal(chr_dataset_open(path, H5P_DEFAULT, &ds, &err), CHR_OK);
  char **got_ids = (char **)1, **got_paths = (char **)1;
  assert_int_equal(chr_dataset_read_strings(ds, &got_ids, &got_paths, &err), CHR_EFORMAT);
  assert_null(got_ids);
  assert_null(got_paths);
  assert_string_equal(err.message,
                      "/image_ids: id 'img0000003' at rows 3 and 9 (expected unique ids)");
  chr_dataset_close(&ds);
  /* The pair whose second occurrence comes first, not the id that occurs first. */
  memcpy(dup, ids, sizeof dup);
  dup[14] = ids[1];
  dup[7] = ids[5];
  dup[11] = ids[5];
  path = next_path(f);
  write_file(path, dup, 1);
  assert_int_equal(chr_dataset_open(path, H5P_DEFAULT, &ds, &err), CHR_OK);
  assert_int_equal(chr_dataset_read_strings(ds, &got_ids, &got_paths, &err), CHR_EFORMAT);
  assert_string_equal(err.message,
                      "/image_ids: id 'img0000005' at rows 5 and 7 (expected unique ids)");
  chr_dataset_close(&ds);
}

static void missing_objects_rejected(void **state) {
  fixture *f = *state;
  const char *path = next_path(f);
  write_file(path, ids, 1);
  hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  assert_true(H5Ldelete(file, "image_ids", H5P_DEFAULT) >= 0);
  H5Fclose(file);
  expect_open_fails(path, CHR_EFORMAT, "/image_ids: missing", NULL);

  path = next_path(f);
  write_file(path, ids, 1);
  file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  assert_true(H5Ldelete(file, "palette_weights", H5P_DEFAULT) >= 0);
  H5Fclose(file);
  expect_open_fails(path, CHR_EFORMAT, "/palettes", "/palette_weights");

  path = next_path(f);
  write_file(path, ids, 1);
  file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  assert_true(H5Adelete(file, "color_space") >= 0);
  H5Fclose(file);
  expect_open_fails(path, CHR_EFORMAT, "root attribute 'color_space': missing", NULL);
}

static void unreadable_files_rejected(void **state) {
  fixture *f = *state;
  const char *path = next_path(f);
  expect_open_fails(path, CHR_EIO, "cannot open", NULL); /* does not exist yet */
  FILE *text = fopen(path, "w");
  assert_non_null(text);
  fputs("hello\n", text);
  fclose(text);
  expect_open_fails(path, CHR_EFORMAT, "not an HDF5 file", NULL);
}

/* Overwrites slot `slot` of row `row` of /palette_weights with value. */
static void poke_palette_weight(const char *path, int row, int slot, float value) {
  hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t d = H5Dopen2(file, "palette_weights", H5P_DEFAULT);
  assert_true(d >= 0);
  hsize_t start[2] = {(hsize_t)row, (hsize_t)slot}, count[2] = {1, 1};
  hid_t fs = H5Dget_space(d), ms = H5Screate_simple(2, count, NULL);
  assert_true(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0);
  assert_true(H5Dwrite(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, &value) >= 0);
  H5Sclose(ms);
  H5Sclose(fs);
  H5Dclose(d);
  H5Fclose(file);
}

/* Writes a file, sets one palette weight and returns what reading the palettes says. */
static chr_status read_poked_palettes(fixture *f, int row, int slot, float value, chr_error *err) {
  const char *path = next_path(f);
  write_file(path, ids, 1);
  poke_palette_weight(path, row, slot, value);
  chr_dataset *ds = NULL;
  assert_int_equal(chr_dataset_open(path, H5P_DEFAULT, &ds, err), CHR_OK);
  static chr_rgb pal[N * CHR_PALETTE_MAX];
  static float palw[N * CHR_PALETTE_MAX];
  chr_status st = chr_dataset_read_palettes(ds, pal, palw, err);
  chr_dataset_close(&ds);
  return st;
}

static void bad_palette_weights_rejected(void **state) {
  fixture *f = *state;
  chr_error err;
  assert_int_equal(read_poked_palettes(f, 8, 0, NAN, &err), CHR_EFORMAT);
  assert_string_equal(err.message, "/palette_weights row 8: slot 0 is nan (expected finite, >= 0)");
  assert_int_equal(read_poked_palettes(f, 3, 4, -NAN, &err), CHR_EFORMAT); /* not "-nan" */
  assert_string_equal(err.message, "/palette_weights row 3: slot 4 is nan (expected finite, >= 0)");
  assert_int_equal(read_poked_palettes(f, N - 1, 2, -0.25f, &err), CHR_EFORMAT);
  assert_string_equal(err.message,
                      "/palette_weights row 19: slot 2 is -0.25 (expected finite, >= 0)");
  assert_int_equal(read_poked_palettes(f, 0, 1, INFINITY, &err), CHR_EFORMAT);
  assert_string_equal(err.message, "/palette_weights row 0: slot 1 is inf (expected finite, >= 0)");
  assert_int_equal(read_poked_palettes(f, 5, 3, 0.0f, &err), CHR_OK); /* zero: an unused slot */
}

/* Copies the first `bytes` bytes of from to a new file; returns its path. */
static const char *copy_prefix(fixture *f, const char *from, long bytes) {
  FILE *in = fopen(from, "rb");
  assert_non_null(in);
  char *buf = malloc((size_t)bytes);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)bytes, in), (size_t)bytes);
  fclose(in);
  const char *path = next_path(f);
  FILE *out = fopen(path, "wb");
  assert_non_null(out);
  assert_int_equal(fwrite(buf, 1, (size_t)bytes, out), (size_t)bytes);
  fclose(out);
  free(buf);
  return path;
}

static long file_size(const char *path) {
  FILE *in = fopen(path, "rb");
  assert_non_null(in);
  assert_int_equal(fseek(in, 0, SEEK_END), 0);
  long size = ftell(in);
  fclose(in);
  return size;
}

/* A file cut short is named as such, with its size and the size its superblock records. */
static void truncated_files_rejected(void **state) {
  fixture *f = *state;
  char whole[128], expected[128];
  snprintf(whole, sizeof whole, "%s", next_path(f));
  write_file(whole, ids, 1);
  long size = file_size(whole);
  long cuts[3] = {size / 2, 100, size - 1};
  for (int i = 0; i < 3; ++i) {
    snprintf(expected, sizeof expected, "truncated HDF5 file (%ld of %ld bytes)", cuts[i], size);
    expect_open_fails(copy_prefix(f, whole, cuts[i]), CHR_EFORMAT, expected, NULL);
  }
  /* too short to hold the end-of-file address, or only part of the signature: not HDF5 */
  expect_open_fails(copy_prefix(f, whole, 30), CHR_EFORMAT, "not an HDF5 file", NULL);
  expect_open_fails(copy_prefix(f, whole, 4), CHR_EFORMAT, "not an HDF5 file", NULL);
}

/* What h5py writes by default: variable-length UTF-8 ids and a variable-length string format. */
static void variable_length_strings_accepted(void **state) {
  fixture *f = *state;
  const char *path = next_path(f);
  write_file(path, ids, 1);
  hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  assert_true(H5Ldelete(file, "image_ids", H5P_DEFAULT) >= 0);
  hid_t type = H5Tcopy(H5T_C_S1);
  assert_true(H5Tset_size(type, H5T_VARIABLE) >= 0);
  assert_true(H5Tset_cset(type, H5T_CSET_UTF8) >= 0);
  hsize_t n = N;
  hid_t space = H5Screate_simple(1, &n, NULL);
  hid_t d = H5Dcreate2(file, "image_ids", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  assert_true(d >= 0);
  char *vids[N];
  memcpy(vids, ids, sizeof vids);
  vids[7] = "a much longer id than the fixed ones — ünïcode";
  assert_true(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, vids) >= 0);
  H5Dclose(d);
  H5Sclose(space);
  assert_true(H5Adelete(file, "format") >= 0);
  hid_t scalar = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(file, "format", type, scalar, H5P_DEFAULT, H5P_DEFAULT);
  const char *format = "chromatica-histograms";
  assert_true(H5Awrite(attr, type, &format) >= 0);
  H5Aclose(attr);
  H5Sclose(scalar);
  H5Tclose(type);
  H5Fclose(file);

  chr_dataset *ds = NULL;
  chr_error err;
  assert_int_equal(chr_dataset_open(path, H5P_DEFAULT, &ds, &err), CHR_OK);
  char **got_ids = NULL, **got_paths = NULL;
  assert_int_equal(chr_dataset_read_strings(ds, &got_ids, &got_paths, &err), CHR_OK);
  for (int i = 0; i < N; ++i) assert_string_equal(got_ids[i], vids[i]);
  chr_strings_free(got_ids, N);
  chr_strings_free(got_paths, N);
  chr_dataset_close(&ds);
}

static void writer_rejects_long_id(void **state) {
  fixture *f = *state;
  chr_dataset_writer *w = NULL;
  chr_error err;
  assert_int_equal(chr_dataset_writer_create(next_path(f), H5P_DEFAULT, 1, 4, 0, 0, &w, &err),
                   CHR_OK);
  char *long_id[1] = {"abcd"};
  assert_int_equal(chr_dataset_writer_put(w, 0, 1, images[0].histogram, long_id, NULL, NULL, NULL,
                                          H5P_DEFAULT, &err), CHR_EINVAL);
  assert_non_null(strstr(err.message, "/image_ids row 0: 'abcd'"));
  assert_int_equal(chr_dataset_writer_close(&w, &err), CHR_OK);
  assert_int_equal(chr_dataset_writer_create(next_path(f), H5P_DEFAULT, -1, 4, 0, 0, &w, &err),
                   CHR_EINVAL);
  assert_null(w);
}

int main(void) {
  make_images();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip),
      cmocka_unit_test(round_trip_growing),
      cmocka_unit_test(without_palettes),
      cmocka_unit_test(bad_bins_rejected),
      cmocka_unit_test(bad_version_and_ranges_rejected),
      cmocka_unit_test(wrong_shape_rejected),
      cmocka_unit_test(bad_rows_rejected),
      cmocka_unit_test(duplicate_ids_rejected),
      cmocka_unit_test(missing_objects_rejected),
      cmocka_unit_test(unreadable_files_rejected),
      cmocka_unit_test(bad_palette_weights_rejected),
      cmocka_unit_test(truncated_files_rejected),
      cmocka_unit_test(variable_length_strings_accepted),
      cmocka_unit_test(writer_rejects_long_id),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
