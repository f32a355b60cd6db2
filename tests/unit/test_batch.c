#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/batch.h"
#include "chromatica/options.h"

static chr_batch *parse_ok(const char *text) {
  chr_batch *b = NULL;
  chr_error err;
  chr_error_clear(&err);
  chr_status s = chr_batch_parse(text, strlen(text), &b, &err);
  if (s != CHR_OK) fprintf(stderr, "unexpected: %s\n", err.message);
  assert_int_equal(s, CHR_OK);
  return b;
}

static void parse_fails_n(const char *text, size_t len, const char *expect) {
  chr_batch *b = NULL;
  chr_error err;
  chr_error_clear(&err);
  assert_int_not_equal(chr_batch_parse(text, len, &b, &err), CHR_OK);
  assert_null(b);
  if (strstr(err.message, expect) == NULL) fprintf(stderr, "message: %s\n", err.message);
  assert_non_null(strstr(err.message, expect));
}

static void parse_fails(const char *text, const char *expect) {
  parse_fails_n(text, strlen(text), expect);
}

static void both_forms_and_defaults(void **state) {
  (void)state;
  chr_batch *b = parse_ok(
      "{\"queries\": [{\"id\": \"pink-yellow\", \"colors\": \"ea6a81,f6d727\", \"weights\": "
      "\"0.49,0.51\", \"k\": 7, \"batch_size\": 5},"
      "{\"colors\": [\"#FF0000\"], \"weights\": [1.0]}], \"max_concurrent\": 3,"
      "\"options\": {\"rerank_k\": 50, \"metric\": \"sinkhorn\", \"sinkhorn_epsilon\": 0.1}}");
  assert_int_equal(chr_batch_count(b), 2);
  assert_int_equal(chr_batch_max_concurrent(b), 3);
  const chr_batch_query *q0 = chr_batch_query_at(b, 0), *q1 = chr_batch_query_at(b, 1);
  assert_true(q0->ok && q1->ok);
  assert_string_equal(q0->id, "pink-yellow");
  assert_int_equal(q0->n_colors, 2);
  assert_true(q0->weights[0] == 0.49 / (0.49 + 0.51));
  assert_int_equal(q0->options.k, 7);
  assert_int_equal(q0->options.batch_size, 5);
  assert_int_equal(q0->options.rerank_k, 50);
  assert_true(q0->options.sinkhorn_epsilon == 0.1);
  assert_int_equal(q1->options.k, 10);
  assert_int_equal(q1->options.batch_size, 10);
  assert_int_equal(q1->colors[0].r, 255);
  assert_true(q1->hist.count >= 1);
  assert_int_equal(strncmp(q1->id, "parallel_query_1_", 17), 0);
  assert_int_equal(strlen(q1->id), strlen("parallel_query_1_") + 6);
  chr_batch_destroy(&b);
  assert_null(b);
}

static void default_ids_are_deterministic(void **state) {
  (void)state;
  const char *text = "{\"queries\": [{\"colors\": \"f00\"}, {\"colors\": \"00f\"}]}";
  chr_batch *a = parse_ok(text), *b = parse_ok(text);
  assert_string_equal(chr_batch_query_at(a, 0)->id, chr_batch_query_at(b, 0)->id);
  assert_string_not_equal(chr_batch_query_at(a, 0)->id + 17, chr_batch_query_at(a, 1)->id + 17);
  chr_batch_destroy(&a);
  chr_batch_destroy(&b);
}

static void bad_queries_fail_alone(void **state) {
  (void)state;
  struct {
    const char *query;
    const char *expect;
  } cases[] = {
      {"{\"colors\": \"GG0000\"}", "colors[0] 'GG0000': not a hex colour"},
      {"{\"colors\": []}", "colors"},
      {"{\"colors\": \"f00,f00,f00,f00,f00,f00\"}", "colors"},
      {"{\"weights\": \"1\"}", "colors: missing"},
      {"{\"colors\": \"f00\", \"weights\": \"0\"}", "weights[0]"},
      {"{\"colors\": \"f00\", \"weights\": [-1]}", "weights[0]"},
      {"{\"colors\": \"f00\", \"weights\": \"NaN\"}", "weights[0]"},
      {"{\"colors\": \"f00\", \"weights\": [\"a\"]}", "weights[0]"},
      {"{\"colors\": \"f00,0f0\", \"weights\": [1]}", "expected 2"},
      {"{\"colors\": \"f00\", \"k\": 0}", "k 0"},
      {"{\"colors\": \"f00\", \"k\": 201}", "k 201"},
      {"{\"colors\": \"f00\", \"k\": 2.5}", "k 2.5"},
      {"{\"colors\": \"f00\", \"k\": \"10\"}", "k \"10\""},
      {"{\"colors\": \"f00\", \"batch_size\": 51}", "batch_size 51"},
      {"{\"colors\": \"f00\", \"fast_mode\": 1}", "fast_mode 1"},
      {"{\"colors\": \"f00\", \"metric\": \"l2\"}", "metric \"l2\""},
      {"{\"colors\": \"f00\", \"sharpen\": 0.5}", "sharpen 0.5"},
      {"{\"colors\": \"f00\", \"rerank_scope\": \"some\"}", "rerank_scope \"some\""},
      {"{\"colors\": \"f00\", \"rerank_scope\": \"all\", \"metric\": \"sinkhorn\"}",
       "needs metric \"emd\""},
      {"{\"colors\": \"f00\", \"candidates\": \"exact\"}", "candidates \"exact\""},
      {"{\"colors\": \"f00\", \"rerank_scope\": \"all\", \"metric\": \"emd\", "
       "\"fast_mode\": true}", "with fast_mode"},
      {"{\"colors\": \"f00\", \"emd_prune\": \"no\"}", "emd_prune \"no\""},
      {"{\"colors\": 7}", "colors 7"},
      {"42", "queries[1] 42"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    char text[512];
    snprintf(text, sizeof text, "{\"queries\": [{\"colors\": \"f00\"}, %s, {\"colors\": \"0f0\"}]}",
             cases[i].query);
    chr_batch *b = parse_ok(text);
    const chr_batch_query *bad = chr_batch_query_at(b, 1);
    assert_true(chr_batch_query_at(b, 0)->ok);
    assert_true(chr_batch_query_at(b, 2)->ok);
    assert_false(bad->ok);
    if (strstr(bad->error, cases[i].expect) == NULL)
      fprintf(stderr, "case %zu: message '%s' lacks '%s'\n", i, bad->error, cases[i].expect);
    assert_non_null(strstr(bad->error, cases[i].expect));
    assert_true(bad->id[0] != '\0');
    chr_batch_destroy(&b);
  }
}

static void rerank_scope_and_pruning(void **state) {
  (void)state;
  chr_batch *b = parse_ok(
      "{\"queries\": [{\"colors\": \"f00\"}, {\"colors\": \"f00\", \"rerank_scope\": "
      "\"candidates\", \"emd_prune\": false}], \"options\": {\"metric\": \"emd\", "
      "\"rerank_scope\": \"all\"}}");
  const chr_batch_query *q0 = chr_batch_query_at(b, 0), *q1 = chr_batch_query_at(b, 1);
  assert_true(q0->ok && q1->ok);
  assert_int_equal(q0->options.candidate_stage, CHR_STAGE_BOUNDS);
  assert_int_equal(q0->options.emd_prune, 1);
  assert_int_equal(q1->options.candidate_stage, CHR_STAGE_HELLINGER);
  assert_int_equal(q1->options.emd_prune, 0);
  chr_batch_destroy(&b);
}

/* The one query of text's message (it must fail). */
static void query_fails_with(const char *query, const char *expect) {
  char text[512];
  snprintf(text, sizeof text, "{\"queries\": [%s]}", query);
  chr_batch *b = parse_ok(text);
  const chr_batch_query *q = chr_batch_query_at(b, 0);
  assert_false(q->ok);
  if (strcmp(q->error, expect) != 0) fprintf(stderr, "got '%s'\nwant '%s'\n", q->error, expect);
  assert_string_equal(q->error, expect);
  chr_batch_destroy(&b);
}

/* Every row of the option table (chromatica/options.h) is parsed by its type with the messages
 * batches had before the table; every enum name is accepted and sets the field. */
static void option_rows_parse_by_type(void **state) {
  (void)state;
  int n = 0;
  const chr_option *rows = chr_options(&n);
  char query[256], expect[256], names[160];
  for (int i = 0; i < n; ++i) {
    const chr_option *r = &rows[i];
    switch (r->type) {
      case CHR_OPTION_INT:
        snprintf(query, sizeof query, "{\"colors\": \"f00\", \"%s\": %d}", r->key, (int)r->max + 1);
        snprintf(expect, sizeof expect,
                 "%s %d: out of range or not an integer (expected an integer from %d to %d)",
                 r->key, (int)r->max + 1, (int)r->min, (int)r->max);
        break;
      case CHR_OPTION_REAL:
        snprintf(query, sizeof query, "{\"colors\": \"f00\", \"%s\": -1}", r->key);
        snprintf(expect, sizeof expect,
                 "%s -1: out of range or not a number (expected a number >= %g and <= %g)", r->key,
                 r->min, r->max);
        break;
      case CHR_OPTION_BOOL:
        snprintf(query, sizeof query, "{\"colors\": \"f00\", \"%s\": 1}", r->key);
        snprintf(expect, sizeof expect, "%s 1: wrong type (expected true or false)", r->key);
        break;
      case CHR_OPTION_ENUM:
        snprintf(query, sizeof query, "{\"colors\": \"f00\", \"%s\": \"x\"}", r->key);
        chr_option_names_list(r, names, sizeof names);
        snprintf(expect, sizeof expect, "%s \"x\": unknown %s (expected %s)", r->key, r->noun,
                 names);
        for (int j = 0; j < r->n_names; ++j) { /* with metric emd every stage is allowed */
          char text[256];
          snprintf(text, sizeof text, "{\"queries\": [{\"colors\": \"f00\", \"%s\": \"%s\"}]}",
                   r->key, r->names[j].name);
          chr_batch *b = parse_ok(text);
          const chr_batch_query *q = chr_batch_query_at(b, 0);
          int got = 0;
          assert_true(q->ok);
          memcpy(&got, (const char *)&q->options + r->offset, sizeof got);
          assert_int_equal(got, r->names[j].value);
          chr_batch_destroy(&b);
        }
        break;
    }
    query_fails_with(query, expect);
  }
  /* The texts as they were before the table, in full. */
  query_fails_with("{\"colors\": \"f00\", \"metric\": \"l2\"}",
                   "metric \"l2\": unknown metric (expected \"sinkhorn\" or \"emd\")");
  query_fails_with("{\"colors\": \"f00\", \"rerank_scope\": \"some\"}",
                   "rerank_scope \"some\": unknown scope (expected \"candidates\" or \"all\")");
  query_fails_with(
      "{\"colors\": \"f00\", \"candidates\": \"exact\"}",
      "candidates \"exact\": unknown candidate stage (expected \"auto\", \"hellinger\", "
      "\"bounds\" or \"cascade\")");
  query_fails_with(
      "{\"colors\": \"f00\", \"candidates\": \"cascade\", \"metric\": \"sinkhorn\"}",
      "candidates \"cascade\": needs metric \"emd\" without fast_mode (got \"sinkhorn\")");
}

static void unreadable_batches_fail_whole(void **state) {
  (void)state;
  parse_fails("{\"queries\": [", "not valid JSON");
  parse_fails("[1, 2]", "not a JSON object");
  parse_fails("\xEF\xBB\xBF" "2", "not a JSON object"); /* cJSON alone keeps this BOM */
  parse_fails("{\"query\": []}", "queries: missing");
  parse_fails("{\"queries\": {}}", "queries: wrong type");
  parse_fails("{\"queries\": []}", "queries: empty");
  parse_fails("{\"queries\": [{\"colors\": \"f00\"}], \"max_concurrent\": 0}", "max_concurrent 0");
  parse_fails("{\"queries\": [{\"colors\": \"f00\"}], \"max_concurrent\": 51}", "max_concurrent 51");
  parse_fails("{\"queries\": [{\"colors\": \"f00\"}], \"options\": {\"k\": 500}}", "options.k 500");
  parse_fails("{\"queries\": [{\"colors\": \"f00\"}], \"options\": 3}", "options 3");
  /* One query more than the per-batch limit. */
  const char *one = "{\"colors\": \"f00\"},";
  size_t n = CHR_BATCH_QUERIES_MAX + 1, len = strlen(one);
  char *big = malloc(n * len + 32);
  assert_non_null(big);
  strcpy(big, "{\"queries\": [");
  char *at = big + strlen(big);
  for (size_t i = 0; i < n; ++i, at += len) memcpy(at, one, len);
  strcpy(at - 1, "]}");
  parse_fails(big, "100001 queries (expected at most 100000");
  free(big);
}

static void unknown_keys_warn_once(void **state) {
  (void)state;
  chr_batch *b = parse_ok(
      "{\"queries\": [{\"colors\": \"f00\", \"colour\": 1}, {\"colors\": \"f00\", \"colour\": 2}],"
      " \"extra\": true, \"options\": {\"speed\": 9}}");
  assert_int_equal(chr_batch_warning_count(b), 3);
  int seen = 0;
  for (int i = 0; i < chr_batch_warning_count(b); ++i)
    seen += strstr(chr_batch_warning(b, i), "queries[].colour") != NULL;
  assert_int_equal(seen, 1);
  chr_batch_destroy(&b);
}

/* The obvious reference: whether text is UTF-8 (RFC 3629), one code point at a time. */
static int is_utf8(const char *text) {
  const unsigned char *p = (const unsigned char *)text;
  while (*p) {
    unsigned long cp = 0;
    int n = *p < 0x80 ? 0 : (*p >> 5) == 6 ? 1 : (*p >> 4) == 14 ? 2 : (*p >> 3) == 30 ? 3 : -1;
    if (n < 0) return 0;
    cp = n == 0 ? *p : *p & (0x3F >> n);
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return 0;
      cp = cp << 6 | (p[i] & 0x3F);
    }
    unsigned long least[] = {0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    p += n + 1;
  }
  return 1;
}

/* A batch text of "[" * n, "]" * n inside an unknown key of one query (n + 3 levels in all). */
static char *nested(int n) {
  const char *head = "{\"queries\": [{\"colors\": \"f00\", \"x\": ";
  size_t len = strlen(head);
  char *text = malloc(len + 2 * (size_t)n + 8);
  assert_non_null(text);
  strcpy(text, head);
  memset(text + len, '[', (size_t)n);
  memset(text + len + n, ']', (size_t)n);
  strcpy(text + len + 2 * (size_t)n, "}]}");
  return text;
}

static void valid_json_edge_cases_parse(void **state) {
  (void)state;
  chr_batch *b = parse_ok(
      "\xEF\xBB\xBF \t\r\n{ \"querie\\u0073\" :\r\n[ {\"id\": \"caf\\u00e9 \\ud83d\\ude00 "
      "\\uD83D\\uDE00 "
      "\\\"q\\\" \\\\ \\/ \\b\\f\\n\\r\\t\", \"colors\": [\"#FF0000\"], \"weights\": [1E0], "
      "\"k\": 2e1, \"sharpen\": 1.5E+0, \"sinkhorn_tol\": 1e-3, \"\": \"\", \"x\": [-0.0, 0, "
      "-12.5e-7, true, false, null, {}, [], \"\"]}, {\"colors\": \"0f0\", \"k\": 1.0}\t] } \n");
  const chr_batch_query *q0 = chr_batch_query_at(b, 0), *q1 = chr_batch_query_at(b, 1);
  assert_true(q0->ok && q1->ok);
  assert_string_equal(q0->id,
                      "caf\xC3\xA9 \xF0\x9F\x98\x80 \xF0\x9F\x98\x80 \"q\" \\ / \b\f\n\r\t");
  assert_int_equal(q0->options.k, 20);
  assert_true(q0->options.sharpen == 1.5 && q0->options.sinkhorn_tol == 1e-3);
  assert_int_equal(q1->options.k, 1);
  chr_batch_destroy(&b);
  /* 1000 levels in all is cJSON's limit and ours: accepted. */
  char *text = nested(997);
  b = parse_ok(text);
  assert_true(chr_batch_query_at(b, 0)->ok);
  chr_batch_destroy(&b);
  free(text);
  /* Very long numbers are read in full (not cut at a fixed width). */
  b = parse_ok(
      "{\"queries\": [{\"colors\": \"f00\", \"k\": 5.000000000000000000000000000000000000"
      "00000000000000000000000000000000000000000000000000000000000001}]}");
  assert_int_equal(chr_batch_query_at(b, 0)->options.k, 5);
  chr_batch_destroy(&b);
}

static void invalid_json_is_refused_naming_the_byte(void **state) {
  (void)state;
  struct {
    const char *text;
    const char *expect;
  } cases[] = {
      {"", "not valid JSON (expected a value, found the end of the text near byte 0)"},
      {" \n ", "not valid JSON (expected a value, found the end of the text near byte 3)"},
      {"{\"queries\": [", "expected a value, found the end of the text near byte 13"},
      {"{\"queries\": [{\"colors\": \"f00\"}]} x",
       "(unexpected text after the JSON value near byte 33)"},
      {"{\"queries\": [{\"colors\": \"f00\"}]}{\"queries\": []}",
       "unexpected text after the JSON value near byte 32"},
      {"{\"queries\": [{\"colors\": \"f00\"}]}}",
       "unexpected text after the JSON value near byte 32"},
      {"{\"queries\": [{\"colors\": \"f00\", \"k\": 010}]}",
       "number with a leading zero near byte 36"},
      {"{\"queries\": [{\"colors\": \"f00\", \"k\": -010}]}",
       "number with a leading zero near byte 36"},
      {"{\"queries\": [{\"colors\": \"f00\", \"k\": -}]}", "expected a digit near byte 37"},
      {"{\"queries\": [{\"colors\": \"f00\", \"k\": 1.}]}",
       "expected a digit after '.' near byte 38"},
      {"{\"queries\": [{\"colors\": \"f00\", \"k\": 1e+}]}",
       "expected a digit in the exponent near byte 39"},
      {"{\"queries\": [{\"colors\": \"f00\", \"k\": .5}]}", "expected a value near byte 36"},
      {"{\"queries\": [{\"colors\": \"f00\", \"k\": +1}]}", "expected a value near byte 36"},
      {"{\"queries\": [{\"colors\": \"f00\", \"k\": 0x10}]}", "expected ',' or '}' near byte 37"},
      {"{\"queries\": [{\"colors\": \"f00\", \"k\": NaN}]}", "expected a value near byte 36"},
      {"{\"queries\": [{\"colors\": \"f00\", \"k\": Infinity}]}", "expected a value near byte 36"},
      {"{\"queries\": [{\"colors\": \"f00\", \"k\": nul}]}", "expected a value near byte 36"},
      {"{\"queries\": [{\"colors\": \"f00\",}]}", "expected a string key near byte 30"},
      {"{\"queries\": [{\"colors\": \"f00\"},]}", "expected a value near byte 31"},
      {"{\"queries\": [{colors: \"f00\"}]}", "expected a string key near byte 14"},
      {"{\"queries\": [{'colors': 'f00'}]}", "expected a string key near byte 14"},
      {"{\"queries\": [{\"colors\" \"f00\"}]}", "expected ':' after the key near byte 23"},
      {"{\"queries\": [{\"colors\": \"f00\" \"k\": 1}]}", "expected ',' or '}' near byte 30"},
      {"{\"queries\": [{\"colors\": \"f00\"} {}]}", "expected ',' or ']' near byte 31"},
      {"{\"queries\": [{\"colors\": \"f00\"}]} /* c */",
       "unexpected text after the JSON value near byte 33"},
      {"{\"queries\":\f[]}", "expected a value near byte 11"},
      {"{\"queries\": [{\"id\": \"a\tb\", \"colors\": \"f00\"}]}",
       "raw control character 0x09 in a string near byte 22; expected it written as an escape"},
      {"{\"queries\": [{\"id\": \"a\x01\", \"colors\": \"f00\"}]}",
       "raw control character 0x01 in a string near byte 22"},
      {"{\"queries\": [{\"id\": \"a\nb\", \"colors\": \"f00\"}]}", "raw control character 0x0a"},
      {"{\"queries\": [{\"id\": \"a\\qb\", \"colors\": \"f00\"}]}",
       "invalid escape \\q near byte 22"},
      {"{\"queries\": [{\"id\": \"a\\u12\", \"colors\": \"f00\"}]}",
       "\\u escape without 4 hex digits near byte 22"},
      {"{\"queries\": [{\"id\": \"a\\ud800\", \"colors\": \"f00\"}]}",
       "lone UTF-16 surrogate \\ud800 near byte 22"},
      {"{\"queries\": [{\"id\": \"a\\ud800\\u0041\", \"colors\": \"f00\"}]}",
       "lone UTF-16 surrogate \\ud800"},
      {"{\"queries\": [{\"id\": \"a\\uDC00\\uD800\", \"colors\": \"f00\"}]}",
       "lone UTF-16 surrogate \\uDC00"},
      {"{\"queries\": [{\"id\": \"abc",
       "string not closed before the end of the text near byte 20"},
      {"\xFF\xFE{\0", "UTF-16 byte-order mark near byte 0; expected UTF-8 text"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i)
    parse_fails(cases[i].text, cases[i].expect);
  const char nul[] = "{\"queries\": [{\"colors\": \"f\0f0\"}]}";
  parse_fails_n(nul, sizeof nul - 1, "raw control character 0x00 in a string near byte 26");
  char *text = nested(998);
  parse_fails(text, "batch: nested deeper than 1000 levels near byte 1033 (expected at most 1000");
  free(text);
  text = nested(100000);
  parse_fails(text, "batch: nested deeper than 1000 levels near byte 1033");
  free(text);
}

static void overflowing_numbers_are_named_as_written(void **state) {
  (void)state;
  parse_fails(
      "{\"queries\": [{\"colors\": \"f00\"}], \"options\": {\"k\": 1e999}}",
      "options.k 1e999: out of range or not an integer (expected an integer from 1 to 200)");
  parse_fails("{\"queries\": [{\"colors\": \"f00\"}], \"max_concurrent\": -1E+999}",
              "max_concurrent -1E+999: out of range");
  parse_fails("{\"queries\": [{\"colors\": \"f00\"}], \"options\": {\"sharpen\": 2e400}}",
              "options.sharpen 2e400: out of range or not a number");
  parse_fails("{\"queries\": [{\"colors\": \"f00\"}], \"options\": {\"k\": 1e308}}",
              "options.k 1e+308:");
  chr_batch *b = parse_ok(
      "{\"queries\": [{\"colors\": \"f00\", \"x\": [1e999, 2e999], \"k\": 3e999}, "
      "{\"colors\": [1e999]}, {\"colors\": \"f00\", \"weights\": [1e999]}, {\"colors\": "
      "\"f00\"}]}");
  assert_string_equal(
      chr_batch_query_at(b, 0)->error,
      "k 3e999: out of range or not an integer (expected an integer from 1 to 200)");
  assert_non_null(strstr(chr_batch_query_at(b, 1)->error, "colors[0] 1e999: wrong type"));
  assert_non_null(strstr(chr_batch_query_at(b, 2)->error, "weights[0] inf"));
  assert_true(chr_batch_query_at(b, 3)->ok);
  chr_batch_destroy(&b);
}

static void flawed_strings_fail_their_query(void **state) {
  (void)state;
  struct {
    const char *query;
    const char *expect;
  } cases[] = {
      {"{\"id\": \"a\\u0000b\", \"colors\": \"f00\"}",
       "id \"a\\u0000b\": contains a NUL character (expected a string without \\u0000)"},
      {"{\"id\": \"bad\xFF\xFEid\", \"colors\": \"f00\"}",
       "id \"bad\\xff\\xfeid\": not valid UTF-8 (expected UTF-8 text)"},
      {"{\"id\": \"over\xC0\xAFlong\", \"colors\": \"f00\"}",
       "id \"over\\xc0\\xaflong\": not valid UTF-8"},
      {"{\"id\": \"sur\xED\xA0\x80\", \"colors\": \"f00\"}",
       "id \"sur\\xed\\xa0\\x80\": not valid UTF-8"},
      {"{\"id\": \"cut\xE2\x82\", \"colors\": \"f00\"}", "id \"cut\\xe2\\x82\": not valid UTF-8"},
      {"{\"colors\": \"f00\\u0000\"}", "colors \"f00\\u0000\": contains a NUL character"},
      {"{\"colors\": [\"0f0\", \"f00\\u0000\"]}",
       "colors[1] \"f00\\u0000\": contains a NUL character"},
      {"{\"colors\": \"f00\", \"note\": {\"a\": [\"\xFF\"]}}",
       "note.a[0] \"\\xff\": not valid UTF-8"},
      {"{\"colors\": \"f00\", \"k\\u0000x\": 3}",
       "key \"k\\u0000x\" in queries[1]: contains a NUL character (expected a key without "
       "\\u0000)"},
      {"\"f00\\u0000\"", "queries[1] \"f00\\u0000\": contains a NUL character"},
      {"{\"colors\": \"f00\", \"k\": 3, \"k\": 5}",
       "duplicate key 'k' (expected each key once per object)"},
      {"{\"k\": 3, \"id\": \"x\", \"colors\": \"f00\", \"id\": \"y\", \"k\": 5}",
       "duplicate key 'k'"},
      {"{\"colors\": \"f00\", \"x\\u00ff\": 1, \"x\xC3\xBF\": 2}", "duplicate key 'x\xC3\xBF'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    char text[512];
    snprintf(text, sizeof text,
             "{\"queries\": [{\"colors\": \"f00\", \"id\": \"a\"}, %s, "
             "{\"colors\": \"0f0\"}]}",
             cases[i].query);
    chr_batch *b = parse_ok(text);
    const chr_batch_query *bad = chr_batch_query_at(b, 1);
    assert_true(chr_batch_query_at(b, 0)->ok && chr_batch_query_at(b, 2)->ok);
    assert_string_equal(chr_batch_query_at(b, 0)->id, "a");
    assert_false(bad->ok);
    if (strstr(bad->error, cases[i].expect) == NULL)
      fprintf(stderr, "case %zu: message '%s' lacks '%s'\n", i, bad->error, cases[i].expect);
    assert_non_null(strstr(bad->error, cases[i].expect));
    assert_true(is_utf8(bad->error) && is_utf8(bad->id));
    chr_batch_destroy(&b);
  }
}

static void flawed_batch_fields_fail_the_batch(void **state) {
  (void)state;
  const char *q = "{\"queries\": [{\"colors\": \"f00\"}], ";
  struct {
    const char *rest;
    const char *expect;
  } cases[] = {
      {"\"options\": {\"metric\": \"emd\\u0000x\"}}",
       "options.metric \"emd\\u0000x\": contains a NUL character"},
      {"\"options\": {\"metric\": \"\xFF\"}}",
       "options.metric \"\\xff\": not valid UTF-8 (expected UTF-8 text)"},
      {"\"comment\": \"caf\xE9\"}", "comment \"caf\\xe9\": not valid UTF-8"},
      {"\"queries\\u0000\": 1}", "key \"queries\\u0000\" in batch: contains a NUL character"},
      {"\"queries\": []}", "batch: duplicate key 'queries' (expected each key once per object)"},
      {"\"options\": {\"k\": 5, \"metric\": \"emd\", \"k\": 7}}",
       "batch: duplicate key 'options.k'"},
      {"\"max_concurrent\": 2, \"max_concurrent\": 3}", "batch: duplicate key 'max_concurrent'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    char text[512];
    snprintf(text, sizeof text, "%s%s", q, cases[i].rest);
    parse_fails(text, cases[i].expect);
  }
  /* Duplicates inside a value nobody reads are left alone. */
  chr_batch *b = parse_ok(
      "{\"queries\": [{\"colors\": \"f00\", \"x\": {\"a\": 1, \"a\": 2}}], "
      "\"extra\": [{\"b\": 1, \"b\": 2}]}");
  assert_true(chr_batch_query_at(b, 0)->ok);
  chr_batch_destroy(&b);
}

static void messages_and_warnings_stay_utf8(void **state) {
  (void)state;
  /* An unknown key that is not UTF-8 is only a warning, its bad byte shown escaped. */
  chr_batch *b = parse_ok(
      "{\"queries\": [{\"id\": \"ok\", \"colors\": \"f00\", \"x\xFFy\": 1}], "
      "\"z\xC0\": 2}");
  assert_true(chr_batch_query_at(b, 0)->ok);
  assert_int_equal(chr_batch_warning_count(b), 2);
  assert_string_equal(chr_batch_warning(b, 0), "unknown key 'z\\xc0' ignored");
  assert_string_equal(chr_batch_warning(b, 1), "unknown key 'queries[].x\\xffy' ignored");
  chr_batch_destroy(&b);
  /* Core messages cut user text at fixed byte widths; a split character must not survive. */
  char text[1024] = "{\"queries\": [{\"colors\": \"xy";
  for (int i = 0; i < 100; ++i) strcat(text, "\xC3\xA9");
  strcat(text, "\", \"\xC3\xA9");
  for (int i = 0; i < 100; ++i) strcat(text, "\xE2\x82\xAC");
  strcat(text, "\": 1}]}");
  b = parse_ok(text);
  const chr_batch_query *q = chr_batch_query_at(b, 0);
  assert_false(q->ok);
  assert_true(is_utf8(q->error));
  assert_non_null(strstr(q->error, "\\xc3': not a hex colour")); /* 63 bytes split the last */
  assert_true(is_utf8(chr_batch_warning(b, 0)));
  assert_non_null(strstr(chr_batch_warning(b, 0), "...' ignored"));
  chr_batch_destroy(&b);
  /* Many distinct keys: no false duplicate, and quick (the check sorts). */
  char *big = malloc(20000 * 24 + 64);
  assert_non_null(big);
  char *at = big + sprintf(big, "{\"queries\": [{\"colors\": \"f00\"");
  for (int i = 0; i < 20000; ++i) at += sprintf(at, ", \"u%05d\": %d", i, i);
  strcpy(at, "}]}");
  b = parse_ok(big);
  assert_true(chr_batch_query_at(b, 0)->ok);
  chr_batch_destroy(&b);
  free(big);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(both_forms_and_defaults),
      cmocka_unit_test(default_ids_are_deterministic),
      cmocka_unit_test(bad_queries_fail_alone),
      cmocka_unit_test(rerank_scope_and_pruning),
      cmocka_unit_test(option_rows_parse_by_type),
      cmocka_unit_test(unreadable_batches_fail_whole),
      cmocka_unit_test(unknown_keys_warn_once),
      cmocka_unit_test(valid_json_edge_cases_parse),
      cmocka_unit_test(invalid_json_is_refused_naming_the_byte),
      cmocka_unit_test(overflowing_numbers_are_named_as_written),
      cmocka_unit_test(flawed_strings_fail_their_query),
      cmocka_unit_test(flawed_batch_fields_fail_the_batch),
      cmocka_unit_test(messages_and_warnings_stay_utf8),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
