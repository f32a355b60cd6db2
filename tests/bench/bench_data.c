#include "bench_data.h"

#include <hdf5.h>
#include <stdlib.h>

#include "chromatica/dataset.h"

static int double_compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *v, int n) {
  if (n == 0) return 0.0;
  qsort(v, (size_t)n, sizeof *v, double_compare);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

chr_index *bench_load_index(const char *path, chr_error *err) {
  chr_dataset *ds = NULL;
  chr_index *idx = NULL;
  if (chr_dataset_open(path, H5P_DEFAULT, &ds, err) != CHR_OK) return NULL;
  int64_t n = chr_dataset_images(ds), chunk = 4096;
  float *buf = malloc((size_t)chunk * 1152 * sizeof *buf);
  int ok = buf != NULL && chr_index_create(n, 0, &idx, err) == CHR_OK;
  for (int64_t at = 0; ok && at < n; at += chunk) {
    int64_t c = n - at < chunk ? n - at : chunk;
    ok = chr_dataset_read_rows(ds, at, c, buf, H5P_DEFAULT, err) == CHR_OK &&
         chr_index_append(idx, buf, c, err) == CHR_OK;
  }
  free(buf);
  chr_dataset_close(&ds);
  if (!ok) chr_index_destroy(&idx);
  return idx;
}
