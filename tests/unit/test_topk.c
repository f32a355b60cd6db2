/* Bounded top-k and merges (spec section 4: ties break by the lower row), checked against a
 * full qsort of every hit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "chromatica/topk.h"

/* Seeded splitmix64: the tests see the same numbers on every run and machine. */
static uint64_t next(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static int cmp_ref(const void *a, const void *b) {
  const chr_hit *x = a, *y = b;
  if (x->score != y->score) return x->score < y->score ? -1 : 1;
  return (x->row > y->row) - (x->row < y->row);
}

/* Scores drawn from only 7 values so most comparisons are ties; rows shuffled. */
static void random_hits(chr_hit *h, int n, uint64_t *state) {
  for (int i = 0; i < n; ++i) {
    h[i].row = i * 3 + 5;
    h[i].score = (double)(next(state) % 7) * 0.25;
  }
  for (int i = n - 1; i > 0; --i) {
    int j = (int)(next(state) % (uint64_t)(i + 1));
    chr_hit t = h[i];
    h[i] = h[j];
    h[j] = t;
  }
}

static void assert_hits_equal(const chr_hit *a, const chr_hit *b, int n) {
  for (int i = 0; i < n; ++i) {
    assert_true(a[i].score == b[i].score);
    assert_int_equal(a[i].row, b[i].row);
  }
}

static void test_compare(void **state) {
  (void)state;
  chr_hit a = {1.0, 10}, b = {1.0, 11}, c = {0.5, 99};
  assert_true(chr_hit_compare(&a, &b) < 0);
  assert_true(chr_hit_compare(&b, &a) > 0);
  assert_true(chr_hit_compare(&c, &a) < 0);
  assert_int_equal(chr_hit_compare(&a, &a), 0);
}

static void test_topk_vs_qsort(void **state) {
  (void)state;
  uint64_t seed = 42;
  enum { N = 3000 };
  static chr_hit all[N], ref[N], store[N];
  const int caps[] = {0, 1, 2, 7, 100, 2999, 3000, 5000};
  for (int round = 0; round < 5; ++round) {
    random_hits(all, N, &seed);
    memcpy(ref, all, sizeof all);
    qsort(ref, N, sizeof *ref, cmp_ref);
    for (size_t c = 0; c < sizeof caps / sizeof *caps; ++c) {
      int cap = caps[c];
      chr_hit *st = cap <= N ? store : malloc((size_t)cap * sizeof *st);
      assert_non_null(st);
      chr_topk t;
      chr_topk_init(&t, st, cap);
      for (int i = 0; i < N; ++i) {
        chr_topk_push(&t, all[i].score, all[i].row);
        if (t.count == t.cap && cap > 0 && i % 97 == 0) {
          /* The worst kept hit is never better than anything kept. */
          const chr_hit *w = chr_topk_worst(&t);
          for (int k = 0; k < t.count; ++k) assert_true(chr_hit_compare(w, &st[k]) >= 0);
        }
      }
      int n = chr_topk_finish(&t);
      assert_int_equal(n, cap < N ? cap : N);
      assert_hits_equal(st, ref, n);
      if (st != store) free(st);
    }
  }
}

static void test_merge(void **state) {
  (void)state;
  uint64_t seed = 7;
  enum { N = 1000 };
  static chr_hit all[N], ref[N], out[N];
  random_hits(all, N, &seed);
  memcpy(ref, all, sizeof all);
  qsort(ref, N, sizeof *ref, cmp_ref);
  /* Split the sorted reference into two sorted lists by row parity, then merge them back. */
  static chr_hit a[N], b[N];
  int na = 0, nb = 0;
  for (int i = 0; i < N; ++i) {
    if (ref[i].row % 2) a[na++] = ref[i];
    else b[nb++] = ref[i];
  }
  const int caps[] = {0, 1, 10, N - 1, N};
  for (size_t c = 0; c < sizeof caps / sizeof *caps; ++c) {
    int n = chr_hits_merge(a, na, b, nb, out, caps[c]);
    assert_int_equal(n, caps[c]);
    assert_hits_equal(out, ref, n);
    n = chr_hits_merge(b, nb, a, na, out, caps[c]);
    assert_int_equal(n, caps[c]);
    assert_hits_equal(out, ref, n);
  }
  assert_int_equal(chr_hits_merge(a, na, NULL, 0, out, N), na);
  assert_hits_equal(out, a, na);
  assert_int_equal(chr_hits_merge(NULL, 0, NULL, 0, out, N), 0);
}

static void test_small_caps(void **state) {
  (void)state;
  chr_hit st[1];
  chr_topk t;
  chr_topk_init(&t, NULL, 0);
  chr_topk_push(&t, 1.0, 1);
  assert_int_equal(chr_topk_finish(&t), 0);
  chr_topk_init(&t, st, 1);
  chr_topk_push(&t, 2.0, 5);
  chr_topk_push(&t, 1.0, 9);
  chr_topk_push(&t, 1.0, 3);
  chr_topk_push(&t, 1.0, 4);
  chr_topk_push(&t, 3.0, 0);
  assert_int_equal(chr_topk_finish(&t), 1);
  assert_true(st[0].score == 1.0);
  assert_int_equal(st[0].row, 3);
}

static void test_orders(void **state) {
  (void)state;
  assert_true(chr_order_value_row(1.0, 9, 2.0, 1) < 0);
  assert_true(chr_order_value_row(1.0, 3, 1.0, 4) < 0);
  assert_true(chr_order_value_row(1.0, 4, 1.0, 4) == 0);
  assert_true(chr_order_mass_bin(0.5, 9, 0.25, 1) < 0);
  assert_true(chr_order_mass_bin(0.5, 2, 0.5, 7) < 0);
  assert_true(chr_order_mass_bin(0.5, 7, 0.5, 2) > 0);
}

/* chr_heaviest_offer against the slow rule: sort everything by (mass, bin) and take the head. */
static void test_heaviest_vs_sort(void **state) {
  (void)state;
  uint64_t seed = 7;
  for (int round = 0; round < 200; ++round) {
    enum { N = 40, CAP = 5 };
    chr_bin_mass all[N], kept[CAP];
    int count = 0, n = 1 + round % N;
    for (int i = 0; i < n; ++i) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      all[i] = (chr_bin_mass){(double)((seed >> 33) % 4), i}; /* few masses: many ties */
      count = chr_heaviest_offer(kept, count, CAP, all[i].mass, all[i].bin);
    }
    for (int i = 1; i < n; ++i) /* insertion sort by the same rule */
      for (int j = i; j > 0 && chr_order_mass_bin(all[j].mass, all[j].bin, all[j - 1].mass,
                                                   all[j - 1].bin) < 0; --j) {
        chr_bin_mass t = all[j];
        all[j] = all[j - 1];
        all[j - 1] = t;
      }
    assert_int_equal(count, n < CAP ? n : CAP);
    for (int i = 0; i < count; ++i) {
      assert_int_equal(kept[i].bin, all[i].bin);
      assert_true(kept[i].mass == all[i].mass);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_compare),
      cmocka_unit_test(test_topk_vs_qsort),
      cmocka_unit_test(test_merge),
      cmocka_unit_test(test_small_caps),
      cmocka_unit_test(test_orders),
      cmocka_unit_test(test_heaviest_vs_sort),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
