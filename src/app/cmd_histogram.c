/* `chromatica histogram --colors C --weights W [--sharpen G]`: shows what a query means. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/app.h"
#include "chromatica/grid.h"
#include "chromatica/lists.h"
#include "chromatica/query.h"

static const char usage[] =
    "usage: chromatica histogram --colors HEX[,HEX...] [--weights W[,W...]] [--sharpen G]\n"
    "  Prints each colour's Lab value and the sparse query histogram as JSON.\n";

typedef struct {
  const char *colors;
  const char *weights;
  const char *sharpen;
} histogram_args;

/* Returns 0 when parsed, 1 for --help, 2 on a usage error (already reported). */
static int parse_args(int argc, char **argv, histogram_args *args) {
  for (int i = 1; i < argc; ++i) {
    const char **slot = NULL;
    if (strcmp(argv[i], "--help") == 0) return 1;
    if (strcmp(argv[i], "--colors") == 0) slot = &args->colors;
    if (strcmp(argv[i], "--weights") == 0) slot = &args->weights;
    if (strcmp(argv[i], "--sharpen") == 0) slot = &args->sharpen;
    if (slot == NULL) {
      fprintf(stderr, "chromatica histogram: unknown option '%s'\n%s", argv[i], usage);
      return 2;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "chromatica histogram: option '%s' needs a value\n", argv[i]);
      return 2;
    }
    *slot = argv[++i];
  }
  if (args->colors == NULL) {
    fprintf(stderr, "chromatica histogram: --colors is required\n%s", usage);
    return 2;
  }
  return 0;
}

static cJSON *histogram_json(const chr_rgb *rgb, const chr_lab *lab, const double *weights,
                             int n, double sharpen, const chr_qhist *q) {
  cJSON *root = cJSON_CreateObject();
  cJSON *colors = cJSON_AddArrayToObject(root, "colors");
  for (int i = 0; i < n; ++i) {
    char hex[8];
    chr_rgb_to_hex(rgb[i], hex);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "hex", hex);
    cJSON_AddNumberToObject(c, "weight", weights[i]);
    double values[3] = {lab[i].l, lab[i].a, lab[i].b};
    cJSON_AddItemToObject(c, "lab", cJSON_CreateDoubleArray(values, 3));
    cJSON_AddItemToArray(colors, c);
  }
  cJSON_AddNumberToObject(root, "sharpen", sharpen);
  cJSON_AddNumberToObject(root, "nonzero_bins", q->count);
  cJSON *bins = cJSON_AddArrayToObject(root, "histogram");
  for (int k = 0; k < q->count; ++k) {
    int l, a, b;
    chr_grid_coords(q->bin[k], &l, &a, &b);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "bin", q->bin[k]);
    cJSON_AddNumberToObject(e, "l", l);
    cJSON_AddNumberToObject(e, "a", a);
    cJSON_AddNumberToObject(e, "b", b);
    cJSON_AddNumberToObject(e, "mass", q->mass[k]);
    cJSON_AddItemToArray(bins, e);
  }
  return root;
}

int chr_cmd_histogram(int argc, char **argv, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  if (rank != 0) return 0;
  histogram_args args = {0};
  int parsed = parse_args(argc, argv, &args);
  if (parsed == 1) {
    fputs(usage, stdout);
    return 0;
  }
  if (parsed != 0) return parsed;

  chr_error err;
  chr_error_clear(&err);
  chr_rgb rgb[CHR_QUERY_MAX_COLORS];
  chr_lab lab[CHR_QUERY_MAX_COLORS];
  double weights[CHR_QUERY_MAX_COLORS];
  int n = 0, n_weights = 0;
  double sharpen = 1.0;
  chr_qhist q;
  if (chr_colors_parse(args.colors, rgb, CHR_QUERY_MAX_COLORS, &n, &err) != CHR_OK) goto fail;
  if (args.weights != NULL) {
    if (chr_weights_parse(args.weights, weights, CHR_QUERY_MAX_COLORS, &n_weights, &err) != CHR_OK)
      goto fail;
    if (n_weights != n) {
      chr_error_set(&err, CHR_EINVAL, "weights '%s': %d values (expected %d, one per colour)",
                    args.weights, n_weights, n);
      goto fail;
    }
  }
  if (args.sharpen != NULL) {
    char *end = NULL;
    sharpen = strtod(args.sharpen, &end);
    if (end == args.sharpen || *end != '\0') {
      chr_error_set(&err, CHR_EINVAL, "sharpen '%s': not a number (expected a number >= 1)",
                    args.sharpen);
      goto fail;
    }
  }
  for (int i = 0; i < n; ++i) lab[i] = chr_rgb_to_lab(rgb[i]);
  if (chr_qhist_build(lab, args.weights ? weights : NULL, n, sharpen, &q, &err) != CHR_OK)
    goto fail;
  double total = 0.0;
  for (int i = 0; i < n; ++i) total += args.weights ? weights[i] : 1.0;
  for (int i = 0; i < n; ++i) weights[i] = (args.weights ? weights[i] : 1.0) / total;

  cJSON *json = histogram_json(rgb, lab, weights, n, sharpen, &q);
  char *text = json ? cJSON_Print(json) : NULL;
  cJSON_Delete(json);
  if (text == NULL) {
    fprintf(stderr, "chromatica histogram: out of memory\n");
    return 1;
  }
  puts(text);
  free(text);
  return 0;
fail:
  fprintf(stderr, "chromatica histogram: %s\n", err.message);
  return 2;
}
