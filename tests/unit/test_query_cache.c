/* The repeated-query cache plan: identical queries reuse the first answer, any option that can
 * change an answer makes a different key, and the least recently used key is forgotten first. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "chromatica/query_cache.h"

static chr_qhist hist_of(int bin, double mass_a) {
  chr_qhist q = {.count = 2, .bin = {bin, bin + 1}, .mass = {mass_a, 1.0 - mass_a}};
  return q;
}

static void identical_queries_reuse_the_first(void **state) {
  (void)state;
  chr_qhist a = hist_of(10, 0.5), a2 = hist_of(10, 0.5), b = hist_of(10, 0.25);
  chr_search_options o = chr_search_options_default(), o_k = o, o_bs = o, o_eps = o, o_emd = o;
  o_k.k = 11;
  o_bs.batch_size = 3; /* scheduling only: same key */
  o_eps.sinkhorn_epsilon = 0.02;
  o_emd.metric = CHR_METRIC_SINKHORN; /* another metric than the default */
  chr_cache_query qs[8] = {{&a, &o}, {&a2, &o}, {&b, &o}, {NULL, &o},
                           {&a, &o_k}, {&a, &o_bs}, {&a, &o_eps}, {&a, &o_emd}};
  int source[8];
  chr_error err;
  assert_int_equal(chr_query_cache_plan(qs, 8, 1000, source, &err), 2);
  const int expect[8] = {0, 0, 2, -1, 4, 0, 6, 7};
  for (int i = 0; i < 8; ++i) assert_int_equal(source[i], expect[i]);
}

static void least_recently_used_is_forgotten(void **state) {
  (void)state;
  chr_qhist A = hist_of(1, 0.5), B = hist_of(5, 0.5), C = hist_of(9, 0.5);
  chr_search_options o = chr_search_options_default();
  /* Capacity 2: A B A C B A -> C evicts B (A was used more recently), then B evicts A, then A
   * is computed again. */
  chr_cache_query qs[6] = {{&A, &o}, {&B, &o}, {&A, &o}, {&C, &o}, {&B, &o}, {&A, &o}};
  int source[6];
  chr_error err;
  assert_int_equal(chr_query_cache_plan(qs, 6, 2, source, &err), 1);
  const int expect[6] = {0, 1, 0, 3, 4, 5};
  for (int i = 0; i < 6; ++i) assert_int_equal(source[i], expect[i]);
  /* With room for all three keys every repeat hits. */
  assert_int_equal(chr_query_cache_plan(qs, 6, 3, source, &err), 3);
  const int roomy[6] = {0, 1, 0, 3, 1, 0};
  for (int i = 0; i < 6; ++i) assert_int_equal(source[i], roomy[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(identical_queries_reuse_the_first),
      cmocka_unit_test(least_recently_used_is_forgotten),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
