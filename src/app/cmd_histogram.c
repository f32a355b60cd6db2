/* `chromatica histogram --colors C --weights W [--sharpen G]` shows what a query means;
 * `chromatica histogram --image FILE` shows what an image becomes in a dataset. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "chromatica/app.h"
#include "chromatica/grid.h"
#include "chromatica/image.h"
#include "chromatica/image_row.h"
#include "chromatica/json_text.h"
#include "chromatica/lists.h"
#include "chromatica/mpi_collect.h"
#include "chromatica/query.h"

static const char usage[] =
    "usage: chromatica histogram --colors HEX[,HEX...] [--weights W[,W...]] [--sharpen G]\n"
    "       chromatica histogram --image FILE [--max-side N] [--max-pixels N]\n"
    "  Prints each colour's Lab value and the sparse query histogram as JSON, or an image's\n"
    "  palette and histogram exactly as `chromatica build` stores them.\n";

typedef struct {
  const char *colors;
  const char *weights;
  const char *sharpen;
  const char *image;
  const char *max_side;
  const char *max_pixels;
} histogram_args;

/* Returns 0 when parsed, 1 for --help, 2 on a usage error (already reported). */
static int parse_args(int argc, char **argv, histogram_args *args) {
  for (int i = 1; i < argc; ++i) {
    const char **slot = NULL;
    if (strcmp(argv[i], "--help") == 0) return 1;
    if (strcmp(argv[i], "--colors") == 0) slot = &args->colors;
    if (strcmp(argv[i], "--weights") == 0) slot = &args->weights;
    if (strcmp(argv[i], "--sharpen") == 0) slot = &args->sharpen;
    if (strcmp(argv[i], "--image") == 0) slot = &args->image;
    if (strcmp(argv[i], "--max-side") == 0) slot = &args->max_side;
    if (strcmp(argv[i], "--max-pixels") == 0) slot = &args->max_pixels;
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
  if ((args->colors == NULL) == (args->image == NULL)) {
    fprintf(stderr, "chromatica histogram: give either --colors or --image\n%s", usage);
    return 2;
  }
  if (args->image != NULL && (args->weights || args->sharpen)) {
    fprintf(stderr, "chromatica histogram: --weights and --sharpen apply to --colors only\n");
    return 2;
  }
  return 0;
}

/* "nonzero_bins" and "histogram": the n bins with their grid coordinates and mass. */
static void add_bins(cJSON *root, const int *bin, const double *mass, int n) {
  cJSON_AddNumberToObject(root, "nonzero_bins", n);
  cJSON *bins = cJSON_AddArrayToObject(root, "histogram");
  for (int k = 0; k < n; ++k) {
    int l, a, b;
    chr_grid_coords(bin[k], &l, &a, &b);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "bin", bin[k]);
    cJSON_AddNumberToObject(e, "l", l);
    cJSON_AddNumberToObject(e, "a", a);
    cJSON_AddNumberToObject(e, "b", b);
    cJSON_AddNumberToObject(e, "mass", mass[k]);
    cJSON_AddItemToArray(bins, e);
  }
}

static cJSON *histogram_json(const chr_rgb *rgb, const chr_lab *lab, const double *weights, int n,
                             double sharpen, const chr_qhist *q) {
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
  add_bins(root, q->bin, q->mass, q->count);
  return root;
}

static int parse_limit(const char *text, const char *name, long long lo, long long hi,
                       long long *out) {
  if (text == NULL) return 1;
  if (!chr_args_whole(text, lo, hi, out)) {
    fprintf(stderr,
            "chromatica histogram: %s '%s': invalid (expected a whole number from %lld to %lld)\n",
            name, text, lo, hi);
    return 0;
  }
  return 1;
}

static cJSON *image_json(const char *path, const chr_image *img, int max_side,
                         const chr_image_row *row) {
  cJSON *root = cJSON_CreateObject();
  int used_w, used_h;
  chr_downsize_size(img->width, img->height, max_side, &used_w, &used_h);
  chr_json_add_text(root, "image", path); /* a file name need not be UTF-8 */
  cJSON_AddStringToObject(root, "format", img->format);
  cJSON_AddNumberToObject(root, "width", img->width);
  cJSON_AddNumberToObject(root, "height", img->height);
  cJSON_AddNumberToObject(root, "indexed_width", used_w);
  cJSON_AddNumberToObject(root, "indexed_height", used_h);
  cJSON *palette = cJSON_AddArrayToObject(root, "palette");
  for (int i = 0; i < CHR_PALETTE_MAX && row->palette_weight[i] > 0.0f; ++i) {
    char hex[8];
    chr_rgb_to_hex(row->palette[i], hex);
    chr_lab lab = chr_rgb_to_lab(row->palette[i]);
    double values[3] = {lab.l, lab.a, lab.b};
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "hex", hex);
    cJSON_AddNumberToObject(c, "weight", row->palette_weight[i]);
    cJSON_AddItemToObject(c, "lab", cJSON_CreateDoubleArray(values, 3));
    cJSON_AddItemToArray(palette, c);
  }
  int bins[CHR_BINS], n = 0;
  double mass[CHR_BINS];
  for (int b = 0; b < CHR_BINS; ++b) {
    if (row->histogram[b] == 0.0f) continue;
    bins[n] = b;
    mass[n++] = row->histogram[b];
  }
  add_bins(root, bins, mass, n);
  return root;
}

/* Decodes and indexes one image as `chromatica build` would. 0 printed, 1 on failure. */
static int show_image(const histogram_args *args) {
  long long max_side = CHR_MAX_SIDE_DEFAULT, max_pixels = CHR_IMAGE_MAX_PIXELS_DEFAULT;
  if (!parse_limit(args->max_side, "--max-side", 1, CHR_MAX_SIDE_LIMIT, &max_side) ||
      !parse_limit(args->max_pixels, "--max-pixels", 1, 1LL << 40, &max_pixels))
    return 2;
  chr_error err;
  chr_error_clear(&err);
  chr_image img;
  static chr_image_row row;
  chr_status st = chr_image_load(args->image, max_pixels, &img, &err);
  if (st == CHR_OK)
    st = chr_image_row_build(img.rgba, img.width, img.height, (int)max_side, &row, &err);
  int exit_code = 1;
  if (st == CHR_OK)
    exit_code =
        chr_json_print(image_json(args->image, &img, (int)max_side, &row), "chromatica histogram");
  else
    fprintf(stderr, "chromatica histogram: %s: %s\n", args->image, err.message);
  chr_image_free(&img);
  return exit_code;
}

int chr_cmd_histogram(int argc, char **argv, const chr_command_context *cmd) {
  (void)cmd; /* run on rank 0 alone: no communication */
  histogram_args args = {0};
  int parsed = parse_args(argc, argv, &args);
  if (parsed != 0) return chr_args_exit_code(parsed, 0, usage);
  if (args.image != NULL) return show_image(&args);

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
    /* The same range a batch accepts. */
    if (end == args.sharpen || *end != '\0' || !(sharpen >= 1.0 && sharpen <= 64.0)) {
      chr_error_set(&err, CHR_EINVAL, "sharpen '%s': invalid (expected a number from 1 to 64)",
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

  return chr_json_print(histogram_json(rgb, lab, weights, n, sharpen, &q), "chromatica histogram");
fail:
  fprintf(stderr, "chromatica histogram: %s\n", err.message);
  return 2;
}
