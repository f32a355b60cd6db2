#include "chromatica/batch.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/lists.h"
#include "chromatica/options.h"
#include "chromatica/textfile.h"
#include "json_check.h"

struct chr_batch {
  int count;
  chr_batch_query *queries;
  int max_concurrent;
  int n_warnings;
  char *warnings[CHR_BATCH_WARNINGS_MAX];
};

/* A short JSON rendering of a value for error messages (size >= 8): at most 60 bytes then
 * "...", UTF-8 only, and a number too large for a double as written (see label_overflows). */
static void describe(const cJSON *item, char *out, size_t size) {
  size_t max = size - 4 < 60 ? size - 4 : 60;
  if (cJSON_IsNumber(item) && !isfinite(item->valuedouble)) {
    const char *text = item->valuestring != NULL ? item->valuestring
                       : item->valuedouble > 0   ? "inf"
                                                 : "-inf";
    chr_json_show(text, strlen(text), max, out);
    return;
  }
  char *text = cJSON_PrintUnformatted(item);
  chr_json_show(text ? text : "?", text ? strlen(text) : 1, max, out);
  free(text);
}

/* Core messages quote user text cut at fixed byte widths, which can split a character; the
 * report must stay UTF-8, so a stray byte is shown as \xNN. */
static void keep_utf8(char *message, size_t size) {
  char clean[CHR_ERROR_MESSAGE_MAX + 4];
  size_t max = size < CHR_ERROR_MESSAGE_MAX ? size : CHR_ERROR_MESSAGE_MAX;
  chr_json_show(message, strlen(message), max - 4, clean); /* at most max - 1 bytes */
  memcpy(message, clean, strlen(clean) + 1);
}

/* cJSON reads a number too large for a double (1e999) as infinity and prints it as null.
 * The check lists such numbers as written, in document order, which is also the order of a
 * depth-first walk of the tree; each such node keeps its text in valuestring (cJSON_Delete
 * frees it there) so that messages show what the user wrote. */
static size_t count_overflows(const cJSON *item) {
  size_t n = 0;
  for (; item != NULL; item = item->next)
    n += (cJSON_IsNumber(item) && !isfinite(item->valuedouble)) + count_overflows(item->child);
  return n;
}

static void label_overflows(cJSON *item, const chr_json_check *check, const char *text,
                            size_t *next) {
  for (; item != NULL; item = item->next) {
    if (cJSON_IsNumber(item) && !isfinite(item->valuedouble)) {
      size_t offset = 0, length = 0;
      chr_json_check_overflow(check, (*next)++, &offset, &length);
      item->valuestring = malloc(length + 1); /* NULL: the message says inf instead */
      if (item->valuestring != NULL) {
        memcpy(item->valuestring, text + offset, length);
        item->valuestring[length] = '\0';
      }
    }
    label_overflows(item->child, check, text, next);
  }
}

/* The message for a string the check found flawed; unnamed is where when it has no path. */
static chr_status flawed_string(const chr_json_finding *f, const char *unnamed, chr_error *err) {
  const char *where = f->where[0] != '\0' ? f->where : unnamed;
  if (f->in_key)
    return chr_error_set(err, CHR_EINVAL,
                         "key \"%s\" in %s: contains a NUL character "
                         "(expected a key without \\u0000)",
                         f->shown, where);
  if (f->flaw == CHR_JSON_HAS_NUL)
    return chr_error_set(err, CHR_EINVAL,
                         "%s \"%s\": contains a NUL character (expected a string without \\u0000)",
                         where, f->shown);
  return chr_error_set(err, CHR_EINVAL, "%s \"%s\": not valid UTF-8 (expected UTF-8 text)", where,
                       f->shown);
}

static int compare_keys(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first key of object, in document order, that it holds more than once, or NULL.
 * keys (n of them) are its keys sorted; a duplicate sits next to its twin. */
static const char *first_duplicate(const cJSON *object, const char **keys, size_t n) {
  size_t i = 1;
  while (i < n && strcmp(keys[i - 1], keys[i]) != 0) i++;
  if (i == n) return NULL;
  const cJSON *item = NULL;
  cJSON_ArrayForEach(item, object) {
    const char **at = bsearch(&item->string, keys, n, sizeof *keys, compare_keys);
    size_t k = (size_t)(at - keys);
    if ((k > 0 && strcmp(keys[k - 1], item->string) == 0) ||
        (k + 1 < n && strcmp(keys[k + 1], item->string) == 0))
      return item->string;
  }
  return NULL;
}

/* Refuses an object holding a key twice (cJSON keeps both). Sorting keeps this O(n log n)
 * for objects with very many keys. lead and prefix start the message and the key's name. */
static chr_status check_unique_keys(const cJSON *object, const char *lead, const char *prefix,
                                    chr_error *err) {
  int n = cJSON_GetArraySize(object), i = 0;
  if (n < 2) return CHR_OK;
  const char **keys = malloc((size_t)n * sizeof *keys);
  if (keys == NULL)
    return chr_error_set(err, CHR_ENOMEM, "%sout of memory checking %d keys", lead, n);
  const cJSON *item = NULL;
  cJSON_ArrayForEach(item, object) keys[i++] = item->string;
  qsort(keys, (size_t)n, sizeof *keys, compare_keys);
  const char *dup = first_duplicate(object, keys, (size_t)n);
  char shown[CHR_JSON_SHOWN_MAX];
  if (dup != NULL) chr_json_show(dup, strlen(dup), CHR_JSON_SHOWN_MAX - 4, shown);
  free(keys);
  if (dup == NULL) return CHR_OK;
  return chr_error_set(err, CHR_EINVAL,
                       "%sduplicate key '%s%s' (expected each key once per object)", lead, prefix,
                       shown);
}

static chr_status want_int(const cJSON *item, const char *field, int lo, int hi, int *out,
                           chr_error *err) {
  char shown[80];
  if (cJSON_IsNumber(item) && isfinite(item->valuedouble) && item->valuedouble >= lo &&
      item->valuedouble <= hi && item->valuedouble == floor(item->valuedouble)) {
    *out = (int)item->valuedouble;
    return CHR_OK;
  }
  describe(item, shown, sizeof shown);
  return chr_error_set(err, CHR_EINVAL,
                       "%s %s: out of range or not an integer (expected an integer from %d to %d)",
                       field, shown, lo, hi);
}

static chr_status want_real(const cJSON *item, const char *field, double lo, double hi,
                            int lo_inclusive, double *out, chr_error *err) {
  char shown[80];
  if (cJSON_IsNumber(item) && isfinite(item->valuedouble) && item->valuedouble <= hi &&
      (lo_inclusive ? item->valuedouble >= lo : item->valuedouble > lo)) {
    *out = item->valuedouble;
    return CHR_OK;
  }
  describe(item, shown, sizeof shown);
  return chr_error_set(err, CHR_EINVAL,
                       "%s %s: out of range or not a number (expected a number %s %g and <= %g)",
                       field, shown, lo_inclusive ? ">=" : ">", lo, hi);
}

/* Applies one option key by its row of the option table (chromatica/options.h). Returns
 * CHR_OK, an error, or CHR_EUNSUPPORTED for a key that is not an option (the caller decides
 * whether that is a query field or an unknown key). */
static chr_status option_apply(const cJSON *item, chr_search_options *o, chr_error *err) {
  const chr_option *row = chr_option_find(item->string);
  char shown[80], names[160];
  int value = 0;
  double real = 0.0;
  if (row == NULL) return CHR_EUNSUPPORTED;
  switch (row->type) {
    case CHR_OPTION_INT:
      if (want_int(item, row->key, (int)row->min, (int)row->max, &value, err) != CHR_OK)
        return err->code;
      break;
    case CHR_OPTION_REAL:
      if (want_real(item, row->key, row->min, row->max, 1, &real, err) != CHR_OK) return err->code;
      break;
    case CHR_OPTION_BOOL:
      if (!cJSON_IsBool(item)) {
        describe(item, shown, sizeof shown);
        return chr_error_set(err, CHR_EINVAL, "%s %s: wrong type (expected true or false)",
                             row->key, shown);
      }
      value = cJSON_IsTrue(item);
      break;
    case CHR_OPTION_ENUM:
      if (!chr_option_name_value(row, cJSON_IsString(item) ? item->valuestring : "", &value)) {
        describe(item, shown, sizeof shown);
        chr_option_names_list(row, names, sizeof names);
        return chr_error_set(err, CHR_EINVAL, "%s %s: unknown %s (expected %s)", row->key, shown,
                             row->noun, names);
      }
      break;
  }
  chr_option_set(row, o, value, real);
  return CHR_OK;
}

static void warn_unknown(chr_batch *b, const char *where, const char *key) {
  char shown[104], text[160];
  chr_json_show(key, strlen(key), 100, shown);
  snprintf(text, sizeof text, "unknown key '%s%s' ignored", where, shown);
  for (int i = 0; i < b->n_warnings; ++i)
    if (strcmp(b->warnings[i], text) == 0) return;
  if (b->n_warnings == CHR_BATCH_WARNINGS_MAX) return;
  char *copy = malloc(strlen(text) + 1);
  if (copy == NULL) return; /* a lost warning is not worth failing the batch for */
  strcpy(copy, text);
  b->warnings[b->n_warnings++] = copy;
}

static chr_status parse_colors(const cJSON *item, chr_batch_query *q, chr_error *err) {
  char shown[80];
  if (item == NULL)
    return chr_error_set(err, CHR_EINVAL, "colors: missing (expected 1 to %d hex colours)",
                         CHR_QUERY_MAX_COLORS);
  if (cJSON_IsString(item))
    return chr_colors_parse(item->valuestring, q->colors, CHR_QUERY_MAX_COLORS, &q->n_colors, err);
  int n = cJSON_IsArray(item) ? cJSON_GetArraySize(item) : -1;
  if (n < 1 || n > CHR_QUERY_MAX_COLORS) {
    describe(item, shown, sizeof shown);
    return chr_error_set(
        err, CHR_EINVAL, "colors %s: %s (expected a string or an array of 1 to %d hex colours)",
        shown, n < 0 ? "wrong type" : "wrong number of colours", CHR_QUERY_MAX_COLORS);
  }
  for (int i = 0; i < n; ++i) {
    const cJSON *c = cJSON_GetArrayItem(item, i);
    chr_error inner;
    if (!cJSON_IsString(c)) {
      describe(c, shown, sizeof shown);
      return chr_error_set(err, CHR_EINVAL,
                           "colors[%d] %s: wrong type (expected a hex colour string)", i, shown);
    }
    if (chr_hex_parse(c->valuestring, &q->colors[i], &inner) != CHR_OK)
      return chr_error_set(err, CHR_EINVAL, "colors[%d] %s", i, inner.message);
  }
  q->n_colors = n;
  return CHR_OK;
}

/* Fills weights (raw, unnormalised) or leaves *given = 0 when absent. */
static chr_status parse_weights(const cJSON *item, const chr_batch_query *q, double *weights,
                                int *given, chr_error *err) {
  char shown[80];
  int n = 0;
  *given = item != NULL;
  if (item == NULL) return CHR_OK;
  if (cJSON_IsString(item)) {
    chr_status s = chr_weights_parse(item->valuestring, weights, CHR_QUERY_MAX_COLORS, &n, err);
    if (s != CHR_OK) return s;
  } else if (cJSON_IsArray(item) && cJSON_GetArraySize(item) <= CHR_QUERY_MAX_COLORS) {
    n = cJSON_GetArraySize(item);
    for (int i = 0; i < n; ++i) {
      const cJSON *w = cJSON_GetArrayItem(item, i);
      if (!cJSON_IsNumber(w)) {
        describe(w, shown, sizeof shown);
        return chr_error_set(err, CHR_EINVAL, "weights[%d] %s: wrong type (expected a number > 0)",
                             i, shown);
      }
      weights[i] = w->valuedouble;
    }
  } else {
    describe(item, shown, sizeof shown);
    return chr_error_set(
        err, CHR_EINVAL,
        "weights %s: wrong type (expected a string or an array of 1 to %d numbers)", shown,
        CHR_QUERY_MAX_COLORS);
  }
  if (n != q->n_colors) {
    describe(item, shown, sizeof shown);
    return chr_error_set(err, CHR_EINVAL, "weights %s: %d values (expected %d, one per colour)",
                         shown, n, q->n_colors);
  }
  return CHR_OK;
}

/* The bounds and cascade stages rank by exact EMD, so they refuse another metric and fast mode.
 * A switch without default: a new stage must say here what it needs. */
static chr_status stage_check(const chr_search_options *o, chr_error *err) {
  const char *fast = o->fast_mode ? " with fast_mode" : "";
  int emd = chr_search_exact_emd(o);
  switch (o->candidate_stage) {
    case CHR_STAGE_HELLINGER:
    case CHR_STAGE_AUTO:
      return CHR_OK;
    case CHR_STAGE_BOUNDS:
    case CHR_STAGE_CASCADE: {
      int bounds = o->candidate_stage == CHR_STAGE_BOUNDS;
      if (emd) return CHR_OK;
      return chr_error_set(
          err, CHR_EINVAL, "%s: needs metric \"emd\" without fast_mode (got \"%s\"%s)%s",
          bounds ? "rerank_scope \"all\"" : "candidates \"cascade\"", chr_metric_name(o->metric),
          fast, bounds ? "; candidates \"bounds\" is the same stage" : "");
    }
  }
  return CHR_OK;
}

static uint32_t fnv1a(const char *text) {
  uint32_t h = 2166136261u;
  for (const unsigned char *p = (const unsigned char *)text; *p; ++p) h = (h ^ *p) * 16777619u;
  return h;
}

static void default_id(const cJSON *query, int index, char *out) {
  char *text = cJSON_PrintUnformatted(query);
  uint32_t h = fnv1a(text ? text : "");
  free(text);
  snprintf(out, CHR_QUERY_ID_MAX, "parallel_query_%d_%06x", index, (unsigned)(h & 0xffffffu));
}

/* Validates one query into q; on failure q->ok = 0 and q->error holds the reason. flawed is
 * the check's first finding inside this query, or NULL. */
static void parse_query(chr_batch *b, const cJSON *query, int index,
                        const chr_search_options *defaults, const chr_json_finding *flawed,
                        chr_batch_query *q) {
  chr_error err;
  chr_error_clear(&err);
  char shown[80];
  double weights[CHR_QUERY_MAX_COLORS];
  int weights_given = 0;
  q->options = *defaults;
  default_id(query, index, q->id);
  if (flawed != NULL) {
    char unnamed[32];
    snprintf(unnamed, sizeof unnamed, "queries[%d]", index);
    flawed_string(flawed, unnamed, &err);
    goto done;
  }
  if (!cJSON_IsObject(query)) {
    describe(query, shown, sizeof shown);
    chr_error_set(&err, CHR_EINVAL, "queries[%d] %s: wrong type (expected an object)", index,
                  shown);
    goto done;
  }
  if (check_unique_keys(query, "", "", &err) != CHR_OK) goto done;
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(query, "id");
  if (id != NULL) {
    if (!cJSON_IsString(id) || id->valuestring[0] == '\0' ||
        strlen(id->valuestring) >= CHR_QUERY_ID_MAX) {
      describe(id, shown, sizeof shown);
      chr_error_set(&err, CHR_EINVAL, "id %s: (expected a non-empty string of at most %d bytes)",
                    shown, CHR_QUERY_ID_MAX - 1);
      goto done;
    }
    strcpy(q->id, id->valuestring);
  }
  const cJSON *item = NULL;
  cJSON_ArrayForEach(item, query) {
    if (strcmp(item->string, "id") == 0 || strcmp(item->string, "colors") == 0 ||
        strcmp(item->string, "weights") == 0)
      continue;
    chr_status s = option_apply(item, &q->options, &err);
    if (s == CHR_EUNSUPPORTED)
      warn_unknown(b, "queries[].", item->string);
    else if (s != CHR_OK)
      goto done;
  }
  if (stage_check(&q->options, &err) != CHR_OK) goto done;
  if (parse_colors(cJSON_GetObjectItemCaseSensitive(query, "colors"), q, &err) != CHR_OK) goto done;
  if (parse_weights(cJSON_GetObjectItemCaseSensitive(query, "weights"), q, weights, &weights_given,
                    &err) != CHR_OK)
    goto done;
  chr_lab lab[CHR_QUERY_MAX_COLORS];
  for (int i = 0; i < q->n_colors; ++i) lab[i] = chr_rgb_to_lab(q->colors[i]);
  if (chr_qhist_build(lab, weights_given ? weights : NULL, q->n_colors, q->options.sharpen,
                      &q->hist, &err) != CHR_OK)
    goto done;
  double total = 0.0;
  for (int i = 0; i < q->n_colors; ++i) total += weights_given ? weights[i] : 1.0;
  for (int i = 0; i < q->n_colors; ++i) q->weights[i] = (weights_given ? weights[i] : 1.0) / total;
done:
  q->ok = err.code == CHR_OK;
  snprintf(q->error, sizeof q->error, "%s", err.message);
  keep_utf8(q->error, sizeof q->error);
}

/* Applies the batch's options object to defaults. */
static chr_status parse_options(chr_batch *b, const cJSON *options, chr_search_options *defaults,
                                chr_error *err) {
  char shown[80];
  if (!cJSON_IsObject(options)) {
    describe(options, shown, sizeof shown);
    return chr_error_set(err, CHR_EINVAL, "options %s: wrong type (expected an object)", shown);
  }
  if (check_unique_keys(options, "batch: ", "options.", err) != CHR_OK) return err->code;
  const cJSON *option = NULL;
  cJSON_ArrayForEach(option, options) {
    chr_error inner;
    chr_status s = option_apply(option, defaults, &inner);
    if (s == CHR_EUNSUPPORTED)
      warn_unknown(b, "options.", option->string);
    else if (s != CHR_OK)
      return chr_error_set(err, s, "options.%s", inner.message);
  }
  return CHR_OK;
}

static chr_status parse_root(chr_batch *b, const cJSON *root, const chr_json_check *check,
                             chr_error *err) {
  chr_search_options defaults = chr_search_options_default();
  const chr_json_finding *flawed = chr_json_check_loose_finding(check);
  if (flawed != NULL) return flawed_string(flawed, "batch", err);
  if (!cJSON_IsObject(root))
    return chr_error_set(err, CHR_EINVAL,
                         "batch: not a JSON object (expected {\"queries\": [...]})");
  if (check_unique_keys(root, "batch: ", "", err) != CHR_OK) return err->code;
  const cJSON *queries = cJSON_GetObjectItemCaseSensitive(root, "queries");
  if (!cJSON_IsArray(queries))
    return chr_error_set(err, CHR_EINVAL, "queries: %s (expected an array of query objects)",
                         queries ? "wrong type" : "missing");
  const cJSON *item = NULL;
  cJSON_ArrayForEach(item, root) {
    if (strcmp(item->string, "queries") == 0) continue;
    if (strcmp(item->string, "max_concurrent") == 0) {
      if (want_int(item, "max_concurrent", 1, CHR_MAX_CONCURRENT_MAX, &b->max_concurrent, err) !=
          CHR_OK)
        return err->code;
    } else if (strcmp(item->string, "options") == 0) {
      if (parse_options(b, item, &defaults, err) != CHR_OK) return err->code;
    } else {
      warn_unknown(b, "", item->string);
    }
  }
  b->count = cJSON_GetArraySize(queries);
  if (b->count == 0)
    return chr_error_set(err, CHR_EINVAL, "queries: empty array (expected at least one query)");
  if (b->count > CHR_BATCH_QUERIES_MAX)
    return chr_error_set(err, CHR_EINVAL,
                         "queries: %d queries (expected at most %d per batch; split the batch)",
                         b->count, CHR_BATCH_QUERIES_MAX);
  b->queries = calloc((size_t)b->count, sizeof *b->queries);
  if (b->queries == NULL)
    return chr_error_set(err, CHR_ENOMEM, "queries: cannot hold %d queries", b->count);
  int index = 0;
  cJSON_ArrayForEach(item, queries) {
    parse_query(b, item, index, &defaults, chr_json_check_group_finding(check, index),
                &b->queries[index]);
    index++;
  }
  return CHR_OK;
}

/* The strict check runs first: cJSON alone would accept text that is not JSON (see
 * json_check.h) and would silently cut strings at \u0000. */
chr_status chr_batch_parse(const char *text, size_t len, chr_batch **out, chr_error *err) {
  *out = NULL;
  chr_status status = CHR_OK;
  chr_batch *b = calloc(1, sizeof *b);
  chr_json_check *check = NULL;
  cJSON *root = NULL;
  chr_error inner;
  size_t next = 0, bom = 0;
  if (b == NULL) return chr_error_set(err, CHR_ENOMEM, "batch: out of memory");
  b->max_concurrent = 10;
  status = chr_json_check_run(text, len, "queries", &check, &inner);
  if (status != CHR_OK) {
    chr_error_set(err, status, "batch: %s", inner.message);
    goto cleanup;
  }
  /* The check accepts a leading byte-order mark; cJSON skips one only when 2 bytes follow it. */
  bom = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  root = cJSON_ParseWithLength(text + bom, len - bom);
  if (root == NULL) {
    /* The text passed the strict check, so cJSON can only have run out of memory. */
    const char *at = cJSON_GetErrorPtr();
    long offset = at != NULL && at >= text && at <= text + len ? (long)(at - text) : -1;
    status = chr_error_set(err, CHR_ENOMEM, "batch: cJSON failed near byte %ld (out of memory?)",
                           offset);
    goto cleanup;
  }
  if (count_overflows(root) == chr_json_check_overflow_count(check))
    label_overflows(root, check, text, &next);
  status = parse_root(b, root, check, err);
cleanup:
  if (status != CHR_OK && err != NULL) keep_utf8(err->message, sizeof err->message);
  cJSON_Delete(root);
  chr_json_check_destroy(&check);
  if (status != CHR_OK) chr_batch_destroy(&b);
  *out = b;
  return status;
}

chr_status chr_batch_load(const char *path, chr_batch **out, chr_error *err) {
  *out = NULL;
  char *text = NULL;
  size_t size = 0;
  chr_status status = chr_text_read(path, CHR_BATCH_FILE_MAX, "query batch", "a JSON batch file",
                                    " per batch file", &text, &size, err);
  if (status != CHR_OK) return status;
  chr_error inner;
  status = chr_batch_parse(text, size, out, &inner);
  if (status != CHR_OK) chr_error_set(err, status, "%s: %s", path, inner.message);
  free(text);
  return status;
}

void chr_batch_destroy(chr_batch **p) {
  if (p == NULL || *p == NULL) return;
  for (int i = 0; i < (*p)->n_warnings; ++i) free((*p)->warnings[i]);
  free((*p)->queries);
  free(*p);
  *p = NULL;
}

int chr_batch_count(const chr_batch *b) {
  return b->count;
}
const chr_batch_query *chr_batch_query_at(const chr_batch *b, int i) {
  return &b->queries[i];
}
int chr_batch_max_concurrent(const chr_batch *b) {
  return b->max_concurrent;
}
int chr_batch_warning_count(const chr_batch *b) {
  return b->n_warnings;
}
const char *chr_batch_warning(const chr_batch *b, int i) {
  return b->warnings[i];
}
