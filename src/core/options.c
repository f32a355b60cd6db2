#include "chromatica/options.h"

#include <string.h>

#include "chromatica/sinkhorn.h"

/* Enumerated options are stored through int: the enums' values are small and non-negative. */
_Static_assert(sizeof(chr_metric) == sizeof(int), "chr_metric is stored as an int");
_Static_assert(sizeof(chr_candidate_stage) == sizeof(int), "chr_candidate_stage as an int");

/* One row per metric: its name in batches and reports. Its solver is its case in rerank_unit
 * (src/core/search.c), its eval mode one in src/app/cmd_eval.c. */
static const chr_option_name metric_names[] = {
    {"sinkhorn", CHR_METRIC_SINKHORN},
    {"emd", CHR_METRIC_EMD},
};
_Static_assert(sizeof metric_names / sizeof metric_names[0] == CHR_METRIC_COUNT,
               "one name per metric");

/* One row per candidate stage, in the order messages list them. */
static const chr_option_name stage_names[] = {
    {"auto", CHR_STAGE_AUTO},
    {"hellinger", CHR_STAGE_HELLINGER},
    {"bounds", CHR_STAGE_BOUNDS},
    {"cascade", CHR_STAGE_CASCADE},
};
_Static_assert(sizeof stage_names / sizeof stage_names[0] == CHR_STAGE_COUNT,
               "one name per candidate stage");

/* The older key rerank_scope knows two of the stages, by other names. */
static const chr_option_name scope_names[] = {
    {"candidates", CHR_STAGE_HELLINGER},
    {"all", CHR_STAGE_BOUNDS},
};

#define N_OF(a) (int)(sizeof(a) / sizeof(a)[0])
#define FIELD(f) offsetof(chr_search_options, f)

static const chr_option options[] = {
    {"k", CHR_OPTION_INT, 1, CHR_K_MAX, 10, FIELD(k), NULL, 0, NULL, NULL, "results per query"},
    {"rerank_k", CHR_OPTION_INT, 1, CHR_RERANK_K_MAX, 200, FIELD(rerank_k), NULL, 0, NULL, NULL,
     "hellinger and cascade stage candidates R = min(N, max(k, rerank_k))"},
    {"metric", CHR_OPTION_ENUM, 0, 0, CHR_METRIC_EMD, FIELD(metric), metric_names,
     N_OF(metric_names), "metric", NULL,
     "`emd`: the exact Earth Mover's Distance; `sinkhorn`: entropic OT, the v1 default"},
    {"candidates", CHR_OPTION_ENUM, 0, 0, CHR_STAGE_AUTO, FIELD(candidate_stage), stage_names,
     N_OF(stage_names), "candidate stage", NULL,
     "the images the rerank ranks: `hellinger` the v1 stage 1 (the top-R by `ann_score`), `bounds` "
     "EMD lower bounds over every image (the certified exact EMD top-k), `cascade` the top-R by "
     "a cascade of EMD lower bounds (not certified, for large collections); `bounds` and "
     "`cascade` need `metric: \"emd\"`, not `fast_mode`; `auto` is, for exact-EMD queries, "
     "`bounds` on up to 10,000 images and `cascade` above, `hellinger` otherwise"},
    {"rerank_scope", CHR_OPTION_ENUM, 0, 0, 0, FIELD(candidate_stage), scope_names,
     N_OF(scope_names), "scope", "candidates",
     "the older name of the stage: `candidates` = hellinger, `all` = bounds"},
    {"sinkhorn_epsilon", CHR_OPTION_REAL, CHR_SINKHORN_EPSILON_MIN, CHR_SINKHORN_EPSILON_MAX, 0.05,
     FIELD(sinkhorn_epsilon), NULL, 0, NULL, NULL,
     "Sinkhorn's epsilon, relative to the grid's largest ground cost"},
    {"sinkhorn_tol", CHR_OPTION_REAL, 0.0, 1.0, 1e-6, FIELD(sinkhorn_tol), NULL, 0, NULL, NULL,
     "Sinkhorn stops once the row-marginal L1 error is below it"},
    {"sinkhorn_max_iter", CHR_OPTION_INT, 1, 100000, 100, FIELD(sinkhorn_max_iter), NULL, 0, NULL,
     NULL, "Sinkhorn stops after this many iterations (reported as unconverged)"},
    {"sharpen", CHR_OPTION_REAL, 1.0, 64.0, 1.0, FIELD(sharpen), NULL, 0, NULL, NULL,
     "the exponent sharpening the query histogram"},
    {"fast_mode", CHR_OPTION_BOOL, 0, 1, 0, FIELD(fast_mode), NULL, 0, NULL, NULL,
     "skip the rerank, distance = ann_score"},
    {"batch_size", CHR_OPTION_INT, 1, CHR_BATCH_SIZE_MAX, 10, FIELD(batch_size), NULL, 0, NULL,
     NULL, "candidates per rerank work unit (scheduling only)"},
    {"emd_prune", CHR_OPTION_BOOL, 0, 1, 1, FIELD(emd_prune), NULL, 0, NULL, NULL,
     "skip EMD candidates whose lower bound proves they cannot enter the top-k (never changes "
     "answers)"},
    {"collapse_duplicates", CHR_OPTION_BOOL, 0, 1, 1, FIELD(collapse_duplicates), NULL, 0, NULL,
     NULL,
     "images whose histograms are bit-identical answer once, through the group's lowest row, "
     "with the other ids in that result's `duplicates`"},
};

const chr_option *chr_options(int *count) {
  *count = N_OF(options);
  return options;
}

const chr_option *chr_option_find(const char *key) {
  for (int i = 0; i < N_OF(options); ++i)
    if (strcmp(options[i].key, key) == 0) return &options[i];
  return NULL;
}

void chr_option_set(const chr_option *o, chr_search_options *opts, int value, double real) {
  char *field = (char *)opts + o->offset;
  switch (o->type) {
    case CHR_OPTION_REAL:
      memcpy(field, &real, sizeof real);
      return;
    case CHR_OPTION_INT:
    case CHR_OPTION_BOOL:
    case CHR_OPTION_ENUM:
      memcpy(field, &value, sizeof value);
      return;
  }
}

chr_search_options chr_search_options_default(void) {
  chr_search_options o;
  memset(&o, 0, sizeof o);
  for (int i = 0; i < N_OF(options); ++i)
    if (options[i].alias == NULL)
      chr_option_set(&options[i], &o, (int)options[i].fallback, options[i].fallback);
  return o;
}

void chr_option_names_list(const chr_option *o, char *out, size_t size) {
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < o->n_names && used < size; ++i) {
    const char *sep = i == 0 ? "" : i + 1 == o->n_names ? " or " : ", ";
    int n = snprintf(out + used, size - used, "%s\"%s\"", sep, o->names[i].name);
    if (n < 0) return;
    used += (size_t)n;
  }
}

static const char *name_of(const chr_option_name *names, int n, int value) {
  for (int i = 0; i < n; ++i)
    if (names[i].value == value) return names[i].name;
  return "?";
}

static int value_of(const chr_option_name *names, int n, const char *name, int *value) {
  for (int i = 0; i < n; ++i)
    if (strcmp(names[i].name, name) == 0) {
      *value = names[i].value;
      return 1;
    }
  return 0;
}

int chr_option_name_value(const chr_option *o, const char *name, int *value) {
  return value_of(o->names, o->n_names, name, value);
}

const char *chr_metric_name(chr_metric m) {
  return name_of(metric_names, N_OF(metric_names), (int)m);
}

const char *chr_stage_name(chr_candidate_stage s) {
  return name_of(stage_names, N_OF(stage_names), (int)s);
}

int chr_metric_parse(const char *name, chr_metric *out) {
  int v = 0;
  if (!value_of(metric_names, N_OF(metric_names), name, &v)) return 0;
  *out = (chr_metric)v;
  return 1;
}

int chr_stage_parse(const char *name, chr_candidate_stage *out) {
  int v = 0;
  if (!value_of(stage_names, N_OF(stage_names), name, &v)) return 0;
  *out = (chr_candidate_stage)v;
  return 1;
}

/* The range and default cells of one row. */
static void markdown_cells(const chr_option *o, char *range, char *fallback, size_t size) {
  switch (o->type) {
    case CHR_OPTION_INT:
      snprintf(range, size, "%d to %d", (int)o->min, (int)o->max);
      snprintf(fallback, size, "%d", (int)o->fallback);
      break;
    case CHR_OPTION_REAL:
      snprintf(range, size, "[%g, %g]", o->min, o->max);
      snprintf(fallback, size, "%g", o->fallback);
      break;
    case CHR_OPTION_BOOL:
      snprintf(range, size, "true, false");
      snprintf(fallback, size, "%s", o->fallback != 0 ? "true" : "false");
      break;
    case CHR_OPTION_ENUM:
      chr_option_names_list(o, range, size);
      snprintf(fallback, size, "\"%s\"", name_of(o->names, o->n_names, (int)o->fallback));
      break;
  }
  if (o->alias != NULL) snprintf(fallback, size, "as %s", o->alias);
}

void chr_options_markdown(FILE *out) {
  static const char *const types[] = {"integer", "number", "boolean", "string"};
  fprintf(out, "| option | type | range | default | what |\n| --- | --- | --- | --- | --- |\n");
  for (int i = 0; i < N_OF(options); ++i) {
    char range[160], fallback[160];
    markdown_cells(&options[i], range, fallback, sizeof range);
    fprintf(out, "| `%s` | %s | %s | %s | %s |\n", options[i].key, types[options[i].type], range,
            fallback, options[i].doc);
  }
}
