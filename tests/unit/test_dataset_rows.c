/* Reading the metadata of chosen rows only (what a report shows), the ids' fingerprint that
 * `chromatica index` records, and the palette-weight check alone, on files written by the
 * dataset writer with serial HDF5. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chromatica/dataset.h"
#include "chromatica/image_row.h"
#include "chromatica/synth.h"

#define N 12

static char dir[64];
static char id_text[N][16], path_text[N][32];
static char *ids[N], *paths[N];
static float hists[N * CHR_BINS], palw[N * CHR_PALETTE_MAX];
static chr_rgb pal[N * CHR_PALETTE_MAX];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/chr_test_rows_XXXXXX");
  if (mkdtemp(dir) == NULL) return -1;
  for (int i = 0; i < N; ++i) {
    chr_image_row row;
    chr_synth_image_make(7, i, &row);
    memcpy(hists + i * CHR_BINS, row.histogram, sizeof row.histogram);
    memcpy(pal + i * CHR_PALETTE_MAX, row.palette, sizeof row.palette);
    memcpy(palw + i * CHR_PALETTE_MAX, row.palette_weight, sizeof row.palette_weight);
    snprintf(id_text[i], sizeof id_text[i], "id%d", i);
    snprintf(path_text[i], sizeof path_text[i], "images/%d.png", i);
    ids[i] = id_text[i];
    paths[i] = path_text[i];
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char path[128];
  for (int i = 0; i < 4; ++i) {
    snprintf(path, sizeof path, "%s/f%d.h5", dir, i);
    remove(path);
  }
  rmdir(dir);
  return 0;
}

/* Writes file k of the test with the module's rows and the given ids and weights. */
static const char *write_file(int k, char *const *id_list, const float *weights) {
  static char path[128];
  snprintf(path, sizeof path, "%s/f%d.h5", dir, k);
  chr_dataset_writer *w = NULL;
  chr_error err;
  assert_int_equal(chr_dataset_writer_create(path, H5P_DEFAULT, N, 16, 32, 1, &w, &err), CHR_OK);
  assert_int_equal(chr_dataset_writer_put(w, 0, N, hists, id_list, paths, pal, weights,
                                          H5P_DEFAULT, &err),
                   CHR_OK);
  assert_int_equal(chr_dataset_writer_close(&w, &err), CHR_OK);
  return path;
}

static chr_dataset *open_file(const char *path) {
  chr_dataset *ds = NULL;
  chr_error err;
  assert_int_equal(chr_dataset_open(path, H5P_DEFAULT, &ds, &err), CHR_OK);
  return ds;
}

/* The rows asked for, in order, as the full read gives them; palettes at their rows' places. */
static void string_and_palette_rows(void **state) {
  (void)state;
  chr_dataset *ds = open_file(write_file(0, ids, palw));
  const int64_t rows[3] = {1, 4, N - 1};
  char **got_ids = NULL, **got_paths = NULL;
  chr_error err;
  assert_int_equal(chr_dataset_read_string_rows(ds, rows, 3, &got_ids, &got_paths, &err), CHR_OK);
  for (int k = 0; k < 3; ++k) {
    assert_string_equal(got_ids[k], ids[rows[k]]);
    assert_string_equal(got_paths[k], paths[rows[k]]);
  }
  chr_strings_free(got_ids, N);
  chr_strings_free(got_paths, N);
  static chr_rgb got_pal[N * CHR_PALETTE_MAX];
  static float got_w[N * CHR_PALETTE_MAX];
  memset(got_pal, 0, sizeof got_pal);
  assert_int_equal(chr_dataset_read_palette_rows(ds, rows, 3, got_pal, got_w, &err), CHR_OK);
  for (int k = 0; k < 3; ++k) {
    size_t at = (size_t)rows[k] * CHR_PALETTE_MAX;
    assert_memory_equal(got_pal + at, pal + at, CHR_PALETTE_MAX * sizeof *pal);
    assert_memory_equal(got_w + at, palw + at, CHR_PALETTE_MAX * sizeof *palw);
  }
  assert_int_equal(got_pal[0].r | got_pal[0].g | got_pal[0].b, 0); /* row 0 not read */
  assert_int_equal(chr_dataset_read_string_rows(ds, rows, 0, &got_ids, &got_paths, &err), CHR_OK);
  chr_strings_free(got_ids, N);
  chr_strings_free(got_paths, N);
  chr_dataset_close(&ds);
}

/* The fingerprint is stable, never 0, and changes with any id. */
static void ids_fingerprint(void **state) {
  (void)state;
  uint64_t a = 0, b = 0, c = 0;
  chr_error err;
  chr_dataset *ds = open_file(write_file(1, ids, palw));
  assert_int_equal(chr_dataset_ids_fingerprint(ds, &a, &err), CHR_OK);
  assert_int_equal(chr_dataset_ids_fingerprint(ds, &b, &err), CHR_OK);
  chr_dataset_close(&ds);
  assert_true(a != 0 && a == b);
  char *other[N];
  memcpy(other, ids, sizeof other);
  other[5] = "id5x";
  ds = open_file(write_file(2, other, palw));
  assert_int_equal(chr_dataset_ids_fingerprint(ds, &c, &err), CHR_OK);
  chr_dataset_close(&ds);
  assert_true(c != 0 && c != a);
}

/* The weights alone are checked as the full palette read checks them. */
static void weights_checked(void **state) {
  (void)state;
  chr_error err;
  chr_dataset *ds = open_file(write_file(3, ids, palw));
  assert_int_equal(chr_dataset_check_weights(ds, &err), CHR_OK);
  chr_dataset_close(&ds);
  float bad[N * CHR_PALETTE_MAX];
  memcpy(bad, palw, sizeof bad);
  bad[9 * CHR_PALETTE_MAX + 2] = -0.5f;
  ds = open_file(write_file(3, ids, bad));
  assert_int_equal(chr_dataset_check_weights(ds, &err), CHR_EFORMAT);
  assert_string_equal(err.message, "/palette_weights row 9: slot 2 is -0.5 (expected finite, >= 0)");
  chr_dataset_close(&ds);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(string_and_palette_rows),
      cmocka_unit_test(ids_fingerprint),
      cmocka_unit_test(weights_checked),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
