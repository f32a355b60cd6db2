/* The option, metric and candidate-stage tables (chromatica/options.h): every enum value has
 * one name that parses back to it, the defaults are spec section 11's, every row is found by
 * its key and sets its own field, and the markdown table has one line per row. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h> /* after the headers it needs */
// clang-format on

#include "chromatica/options.h"

static void metric_names_round_trip(void **state) {
  (void)state;
  for (int m = 0; m < CHR_METRIC_COUNT; ++m) {
    const char *name = chr_metric_name((chr_metric)m);
    chr_metric back = (chr_metric)-1;
    assert_string_not_equal(name, "?");
    assert_int_equal(chr_metric_parse(name, &back), 1);
    assert_int_equal(back, m);
  }
  assert_string_equal(chr_metric_name(CHR_METRIC_SINKHORN), "sinkhorn");
  assert_string_equal(chr_metric_name(CHR_METRIC_EMD), "emd");
  chr_metric m = CHR_METRIC_EMD;
  assert_int_equal(chr_metric_parse("hellinger", &m), 0);
  assert_int_equal(chr_metric_parse("EMD", &m), 0);
  assert_int_equal(m, CHR_METRIC_EMD);
}

static void stage_names_round_trip(void **state) {
  (void)state;
  for (int s = 0; s < CHR_STAGE_COUNT; ++s) {
    const char *name = chr_stage_name((chr_candidate_stage)s);
    chr_candidate_stage back = (chr_candidate_stage)-1;
    assert_string_not_equal(name, "?");
    assert_int_equal(chr_stage_parse(name, &back), 1);
    assert_int_equal(back, s);
  }
  assert_string_equal(chr_stage_name(CHR_STAGE_HELLINGER), "hellinger");
  assert_string_equal(chr_stage_name(CHR_STAGE_BOUNDS), "bounds");
  assert_string_equal(chr_stage_name(CHR_STAGE_CASCADE), "cascade");
  chr_candidate_stage s = CHR_STAGE_AUTO;
  assert_int_equal(chr_stage_parse("all", &s), 0); /* only the older key knows "all" */
}

static void defaults_are_the_spec(void **state) {
  (void)state;
  chr_search_options o = chr_search_options_default();
  assert_int_equal(o.k, 10);
  assert_int_equal(o.rerank_k, 200);
  assert_int_equal(o.metric, CHR_METRIC_EMD);
  assert_int_equal(o.candidate_stage, CHR_STAGE_AUTO);
  assert_true(o.sinkhorn_epsilon == 0.05);
  assert_true(o.sinkhorn_tol == 1e-6);
  assert_int_equal(o.sinkhorn_max_iter, 100);
  assert_true(o.sharpen == 1.0);
  assert_int_equal(o.fast_mode, 0);
  assert_int_equal(o.batch_size, 10);
  assert_int_equal(o.emd_prune, 1);
  assert_int_equal(o.collapse_duplicates, 1);
}

/* Each row sets its own field and no other (the rest of the struct stays as it was). */
static void rows_set_their_fields(void **state) {
  (void)state;
  int n = 0;
  const chr_option *rows = chr_options(&n);
  assert_int_equal(n, 13);
  for (int i = 0; i < n; ++i) {
    const chr_option *r = &rows[i];
    assert_ptr_equal(chr_option_find(r->key), r);
    chr_search_options before, after;
    before = chr_search_options_default();
    memcpy(&after, &before, sizeof after);
    int value = r->type == CHR_OPTION_ENUM   ? r->names[r->n_names - 1].value
                : r->type == CHR_OPTION_BOOL ? 1
                                             : (int)r->max;
    chr_option_set(r, &after, value, r->max);
    unsigned char *a = (unsigned char *)&before, *b = (unsigned char *)&after;
    size_t width = r->type == CHR_OPTION_REAL ? sizeof(double) : sizeof(int);
    for (size_t j = 0; j < sizeof before; ++j)
      if (j < r->offset || j >= r->offset + width) assert_int_equal(a[j], b[j]);
    if (r->type == CHR_OPTION_REAL) {
      double got = 0.0;
      memcpy(&got, b + r->offset, sizeof got);
      assert_true(got == r->max);
    } else {
      int got = 0;
      memcpy(&got, b + r->offset, sizeof got);
      assert_int_equal(got, value);
    }
    if (r->type == CHR_OPTION_ENUM) assert_non_null(r->noun);
  }
  assert_null(chr_option_find("colors"));
  assert_null(chr_option_find("K"));
}

static void names_listed_as_messages_say(void **state) {
  (void)state;
  char text[160];
  int v = -1;
  chr_option_names_list(chr_option_find("candidates"), text, sizeof text);
  assert_string_equal(text, "\"auto\", \"hellinger\", \"bounds\" or \"cascade\"");
  chr_option_names_list(chr_option_find("metric"), text, sizeof text);
  assert_string_equal(text, "\"sinkhorn\" or \"emd\"");
  assert_int_equal(chr_option_name_value(chr_option_find("rerank_scope"), "all", &v), 1);
  assert_int_equal(v, CHR_STAGE_BOUNDS);
  assert_int_equal(chr_option_name_value(chr_option_find("rerank_scope"), "bounds", &v), 0);
}

static void markdown_has_a_line_per_row(void **state) {
  (void)state;
  FILE *f = tmpfile();
  assert_non_null(f);
  chr_options_markdown(f);
  rewind(f);
  char line[512];
  int lines = 0, n = 0;
  chr_options(&n);
  while (fgets(line, sizeof line, f) != NULL) {
    assert_int_equal(line[0], '|');
    lines++;
  }
  fclose(f);
  assert_int_equal(lines, n + 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(metric_names_round_trip),      cmocka_unit_test(stage_names_round_trip),
      cmocka_unit_test(defaults_are_the_spec),        cmocka_unit_test(rows_set_their_fields),
      cmocka_unit_test(names_listed_as_messages_say), cmocka_unit_test(markdown_has_a_line_per_row),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
