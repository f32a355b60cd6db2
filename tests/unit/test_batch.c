#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/batch.h"

static chr_batch *parse_ok(const char *text) {
  chr_batch *b = NULL;
  chr_error err;
  chr_error_clear(&err);
  chr_status s = chr_batch_parse(text, strlen(text), &b, &err);
  if (s != CHR_OK) fprintf(stderr, "unexpected: %s\n", err.message);
  assert_int_equal(s, CHR_OK);
  return b;
}

static void parse_fails(const char *text, const char *expect) {
  chr_batch *b = NULL;
  chr_error err;
  chr_error_clear(&err);
  assert_int_not_equal(chr_batch_parse(text, strlen(text), &b, &err), CHR_OK);
  assert_null(b);
  if (strstr(err.message, expect) == NULL) fprintf(stderr, "message: %s\n", err.message);
  assert_non_null(strstr(err.message, expect));
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
      {"{\"colors\": \"f00\", \"rerank_scope\": \"all\"}", "needs metric \"emd\""},
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
  assert_int_equal(q0->options.rerank_scope, CHR_SCOPE_ALL);
  assert_int_equal(q0->options.emd_prune, 1);
  assert_int_equal(q1->options.rerank_scope, CHR_SCOPE_CANDIDATES);
  assert_int_equal(q1->options.emd_prune, 0);
  chr_batch_destroy(&b);
}

static void unreadable_batches_fail_whole(void **state) {
  (void)state;
  parse_fails("{\"queries\": [", "not valid JSON");
  parse_fails("[1, 2]", "not a JSON object");
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(both_forms_and_defaults),
      cmocka_unit_test(default_ids_are_deterministic),
      cmocka_unit_test(bad_queries_fail_alone),
      cmocka_unit_test(rerank_scope_and_pruning),
      cmocka_unit_test(unreadable_batches_fail_whole),
      cmocka_unit_test(unknown_keys_warn_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
