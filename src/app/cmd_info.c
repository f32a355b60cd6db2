/* `chromatica info FILE [--json]`: validates a whole dataset (attributes, shapes, every row,
 * unique ids) on rank 0 with serial HDF5 and prints a summary. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/app.h"
#include "chromatica/dataset.h"
#include "chromatica/grid.h"
#include "chromatica/image_row.h"
#include "chromatica/json_text.h"
#include "chromatica/mpi_collect.h"
#include "info_index.h"

#define INFO_BLOCK_ROWS 4096 /* rows read and checked at a time: bounds memory (~19 MB) */

static const char usage[] =
    "usage: chromatica info FILE [--json]\n"
    "  Validates the HDF5 dataset FILE (spec section 9) and prints a summary.\n";

typedef struct {
  int64_t images;
  int64_t nonzero_count[CHR_BINS + 1]; /* images having exactly k non-zero bins */
  int has_file_paths, has_palettes;
  chr_index_meta index; /* present: verified against every row */
} info_summary;

/* The k-th smallest (0-based) non-zero-bin count. */
static int count_at(const info_summary *s, int64_t k) {
  int64_t seen = 0;
  for (int v = 0; v <= CHR_BINS; ++v) {
    seen += s->nonzero_count[v];
    if (seen > k) return v;
  }
  return CHR_BINS;
}

static chr_status validate(const char *path, info_summary *s, chr_error *err) {
  chr_status st = CHR_OK;
  chr_dataset *ds = NULL;
  float *rows = NULL;
  char **ids = NULL, **paths = NULL;
  chr_rgb *palettes = NULL;
  float *weights = NULL;
  info_index *check = NULL;
  if ((st = chr_dataset_open(path, H5P_DEFAULT, &ds, err)) != CHR_OK) goto cleanup;
  if ((st = chr_dataset_index_meta(ds, &s->index, err)) != CHR_OK) goto cleanup;
  if (s->index.present &&
      (st = chr_info_index_begin(ds, &s->index, INFO_BLOCK_ROWS, &check, err)) != CHR_OK)
    goto cleanup;
  s->images = chr_dataset_images(ds);
  s->has_file_paths = chr_dataset_has_file_paths(ds);
  s->has_palettes = chr_dataset_has_palettes(ds);
  if ((rows = malloc((size_t)INFO_BLOCK_ROWS * CHR_BINS * sizeof *rows)) == NULL) {
    st = chr_error_set(err, CHR_ENOMEM, "out of memory for a block of %d rows", INFO_BLOCK_ROWS);
    goto cleanup;
  }
  for (int64_t first = 0; first < s->images; first += INFO_BLOCK_ROWS) {
    int64_t count = s->images - first < INFO_BLOCK_ROWS ? s->images - first : INFO_BLOCK_ROWS;
    if ((st = chr_dataset_read_rows(ds, first, count, rows, H5P_DEFAULT, err)) != CHR_OK ||
        (st = chr_dataset_check_rows(rows, first, count, err)) != CHR_OK ||
        (check && (st = chr_info_index_block(check, rows, first, count, err)) != CHR_OK))
      goto cleanup;
    for (int64_t r = 0; r < count; ++r) {
      int nonzero = 0;
      for (int b = 0; b < CHR_BINS; ++b) nonzero += rows[r * CHR_BINS + b] > 0;
      s->nonzero_count[nonzero]++;
    }
  }
  if (check && (st = chr_info_index_end(&check, err)) != CHR_OK) goto cleanup;
  if ((st = chr_dataset_read_strings(ds, &ids, &paths, err)) != CHR_OK) goto cleanup;
  if (s->has_palettes) {
    palettes = malloc((size_t)s->images * CHR_PALETTE_MAX * sizeof *palettes);
    weights = malloc((size_t)s->images * CHR_PALETTE_MAX * sizeof *weights);
    if (palettes == NULL || weights == NULL) {
      st = chr_error_set(err, CHR_ENOMEM, "out of memory for %lld palettes", (long long)s->images);
      goto cleanup;
    }
    /* The reader refuses non-finite and negative weights. */
    if ((st = chr_dataset_read_palettes(ds, palettes, weights, err)) != CHR_OK) goto cleanup;
  }
cleanup:
  if (check) chr_info_index_end(&check, &(chr_error){0});
  free(weights);
  free(palettes);
  if (ds != NULL) {
    chr_strings_free(ids, s->images);
    chr_strings_free(paths, s->images);
  }
  free(rows);
  chr_dataset_close(&ds);
  return st;
}

/* Bytes of /index: offsets, entries (bin + mass) and the root columns. */
static double index_bytes(const chr_index_meta *m) {
  return 8.0 * (double)(m->rows + 1) + 6.0 * (double)m->nnz + 2.0 * CHR_BINS * (double)m->rows;
}

static int print_json(const char *path, const info_summary *s, double median) {
  cJSON *root = cJSON_CreateObject();
  chr_json_add_text(root, "path", path); /* a file name need not be UTF-8 */
  cJSON_AddStringToObject(root, "format", "chromatica-histograms");
  cJSON_AddNumberToObject(root, "format_version", s->index.present ? 2 : 1);
  cJSON_AddNumberToObject(root, "images", (double)s->images);
  cJSON_AddNumberToObject(root, "bins", CHR_BINS);
  cJSON *nz = cJSON_AddObjectToObject(root, "nonzero_bins_per_image");
  cJSON_AddNumberToObject(nz, "min", count_at(s, 0));
  cJSON_AddNumberToObject(nz, "median", median);
  cJSON_AddNumberToObject(nz, "max", count_at(s, s->images - 1));
  cJSON_AddBoolToObject(root, "file_paths", s->has_file_paths);
  cJSON_AddBoolToObject(root, "palettes", s->has_palettes);
  if (s->index.present) {
    cJSON *ix = cJSON_AddObjectToObject(root, "index");
    cJSON_AddNumberToObject(ix, "rows", (double)s->index.rows);
    cJSON_AddNumberToObject(ix, "entries", (double)s->index.nnz);
    cJSON_AddNumberToObject(ix, "bytes", index_bytes(&s->index));
    cJSON_AddBoolToObject(ix, "verified", 1);
  } else {
    cJSON_AddNullToObject(root, "index");
  }
  cJSON_AddBoolToObject(root, "valid", 1);
  return chr_json_print(root, "chromatica info");
}

int chr_cmd_info(int argc, char **argv, const chr_command_context *cmd) {
  (void)cmd; /* run on rank 0 alone: no communication */
  const char *path = NULL;
  int json = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (strcmp(argv[i], "--json") == 0) {
      json = 1;
    } else if (argv[i][0] == '-' || path != NULL) {
      fprintf(stderr, "chromatica info: unexpected argument '%s'\n%s", argv[i], usage);
      return 2;
    } else {
      path = argv[i];
    }
  }
  if (path == NULL) {
    fprintf(stderr, "chromatica info: FILE is required\n%s", usage);
    return 2;
  }
  info_summary *s = calloc(1, sizeof *s);
  if (s == NULL) {
    fprintf(stderr, "chromatica info: out of memory\n");
    return 1;
  }
  chr_error err;
  chr_error_clear(&err);
  int exit_code = 0;
  if (validate(path, s, &err) != CHR_OK) {
    fprintf(stderr, "chromatica info: %s: %s\n", path, err.message);
    exit_code = 1;
  } else {
    double median = 0.5 * (count_at(s, (s->images - 1) / 2) + count_at(s, s->images / 2));
    if (json) {
      exit_code = print_json(path, s, median);
    } else {
      printf("file:                    %s\n", path);
      printf("format:                  chromatica-histograms v%d, %d x %d x %d CIELAB D65 bins\n",
             s->index.present ? 2 : 1, CHR_GRID_NL, CHR_GRID_NA, CHR_GRID_NB);
      printf("images:                  %lld (all rows valid, ids unique)\n", (long long)s->images);
      printf("non-zero bins per image: min %d, median %g, max %d\n", count_at(s, 0), median,
             count_at(s, s->images - 1));
      printf("/file_paths:             %s\n", s->has_file_paths ? "present" : "absent");
      printf("/palettes:               %s\n", s->has_palettes ? "present" : "absent");
      if (s->index.present)
        printf("/index:                  stored, %lld entries, %.1f MB (matches every row)\n",
               (long long)s->index.nnz, index_bytes(&s->index) / 1e6);
      else
        printf(
            "/index:                  absent (built at each search; `chromatica index FILE` "
            "adds it)\n");
    }
  }
  free(s);
  return exit_code;
}
