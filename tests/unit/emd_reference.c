/* The exact EMD solver as it was before its pricing went to AVX2/AVX-512 and its costs to a
 * table (git history: src/core/emd.c at the start of issue 14's second pass), kept verbatim as
 * the tests' reference: SSE2 pricing, costs from chr_grid_cost. src/core/emd.c now takes
 * another pivot path (regret-ordered start, candidate-list pricing) and must agree within 1e-12
 * relative, its duals optimal; see test_emd_bits.c.
 *
 * Transportation simplex on the m x n problem: column-minimum start, Dantzig pricing (lowest
 * index on ties), ratio test with the lowest cell leaving on ties, subtree rehang. */
#include "emd_reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "chromatica/grid.h"
#include "../../src/core/support.h"

/* Reduced costs above -CHR_EMD_TOL * max(C) count as optimal: far above the rounding noise of
 * potentials summed along a tree path (~depth * 1e-16 * max(C)), and the duality gap it allows
 * is at most this times the total mass (1). */
#define CHR_EMD_TOL 1e-11

typedef struct {
  int m, n, nb; /* rows, columns, basic cells = m + n - 1 */
  const double *c;
  int *bi, *bj; /* basic cell of each slot */
  double *bx;   /* its flow */
  unsigned char *basic;
  int *off, *cur, *adj, *queue, *parent, *pslot, *depth, *path;
  double *pot; /* u_i at node i, v_j at node m + j */
  /* The tree's slots at each node, kept across pivots: row i's at slots + i n (at most n),
   * column j's at slots + m n + j m (at most m); degree[v] of them are used. */
  int *slots, *degree;
} simplex;

/* Column-minimum start: each image bin in turn takes mass from its cheapest query bins that
 * still have supply (lowest row on ties). Each assignment crosses out exactly one line, the
 * exhausted row unless it is the last row, else the column; so the m + n - 1 cells (zero flows
 * included) form a spanning tree. O((m + n) m) work, no sorting. */
static void initial_basis(simplex *s, double *supply, double *demand, unsigned char *row_done) {
  const int m = s->m, n = s->n;
  int rows_left = m, k = 0;
  for (int j = 0; j < n && k < s->nb; ++j) {
    for (;;) {
      int i = -1;
      for (int r = 0; r < m; ++r)
        if (!row_done[r] && (i < 0 || s->c[(size_t)r * n + j] < s->c[(size_t)i * n + j])) i = r;
      double x = supply[i] < demand[j] ? supply[i] : demand[j];
      supply[i] -= x;
      demand[j] -= x;
      s->bi[k] = i, s->bj[k] = j, s->bx[k] = x, s->basic[(size_t)i * n + j] = 1, ++k;
      if (k == s->nb) break;
      if (j == n - 1 || (rows_left > 1 && supply[i] <= demand[j])) {
        row_done[i] = 1, --rows_left;
      } else {
        break; /* column j is done */
      }
    }
  }
}

/* Adjacency of the basis tree, BFS from row 0, potentials. Returns the nodes reached. */
static int build_tree(simplex *s) {
  const int m = s->m, nn = s->m + s->n;
  memset(s->off, 0, (size_t)(nn + 1) * sizeof *s->off);
  for (int k = 0; k < s->nb; ++k) ++s->off[s->bi[k] + 1], ++s->off[m + s->bj[k] + 1];
  for (int v = 0; v < nn; ++v) s->off[v + 1] += s->off[v];
  memcpy(s->cur, s->off, (size_t)nn * sizeof *s->cur);
  for (int k = 0; k < s->nb; ++k) {
    s->adj[s->cur[s->bi[k]]++] = k;
    s->adj[s->cur[m + s->bj[k]]++] = k;
  }
  for (int v = 0; v < nn; ++v) s->depth[v] = -1;
  int head = 0, tail = 0;
  s->queue[tail++] = 0;
  s->depth[0] = 0, s->parent[0] = -1, s->pslot[0] = -1, s->pot[0] = 0.0;
  while (head < tail) {
    int v = s->queue[head++];
    for (int e = s->off[v]; e < s->off[v + 1]; ++e) {
      int k = s->adj[e];
      int w = v < m ? m + s->bj[k] : s->bi[k];
      if (s->depth[w] >= 0) continue;
      s->depth[w] = s->depth[v] + 1, s->parent[w] = v, s->pslot[w] = k;
      s->pot[w] = s->c[(size_t)s->bi[k] * s->n + s->bj[k]] - s->pot[v];
      s->queue[tail++] = w;
    }
  }
  return tail;
}

static int *slots_of(simplex *s, int v) {
  return v < s->m ? s->slots + (size_t)v * s->n : s->slots + (size_t)s->m * s->n + (size_t)(v - s->m) * s->m;
}

static void slots_init(simplex *s) {
  memset(s->degree, 0, (size_t)(s->m + s->n) * sizeof *s->degree);
  for (int k = 0; k < s->nb; ++k) {
    int r = s->bi[k], c = s->m + s->bj[k];
    slots_of(s, r)[s->degree[r]++] = k;
    slots_of(s, c)[s->degree[c]++] = k;
  }
}

static void slot_remove(simplex *s, int v, int k) {
  int *list = slots_of(s, v);
  for (int e = 0; e < s->degree[v]; ++e)
    if (list[e] == k) {
      list[e] = list[--s->degree[v]];
      return;
    }
}

/* After a pivot the subtree cut off by the leaving slot hangs from the entering slot k, at node
 * top below node above: its parents, depths and potentials are set again, each potential from
 * its parent's along the one tree path from the root, so they equal what build_tree would
 * compute from scratch, bit for bit. O(size of the subtree). */
static void rehang(simplex *s, int top, int above, int k) {
  const int m = s->m;
  s->parent[top] = above, s->pslot[top] = k, s->depth[top] = s->depth[above] + 1;
  s->pot[top] = s->c[(size_t)s->bi[k] * s->n + s->bj[k]] - s->pot[above];
  int head = 0, tail = 0;
  s->queue[tail++] = top;
  while (head < tail) {
    int v = s->queue[head++];
    const int *list = slots_of(s, v);
    for (int e = 0; e < s->degree[v]; ++e) {
      int slot = list[e];
      if (slot == s->pslot[v]) continue;
      int w = v < m ? m + s->bj[slot] : s->bi[slot];
      s->parent[w] = v, s->pslot[w] = slot, s->depth[w] = s->depth[v] + 1;
      s->pot[w] = s->c[(size_t)s->bi[slot] * s->n + s->bj[slot]] - s->pot[v];
      s->queue[tail++] = w;
    }
  }
}

/* Enters cell (ei, ej): walks the tree path from column ej to row ei (signs -, +, -, ...). */
static void pivot(simplex *s, int ei, int ej) {
  const int m = s->m, nn = s->m + s->n;
  int *up_b = s->path, *up_a = s->path + nn;
  int nbp = 0, na = 0, x = m + ej, y = ei;
  while (s->depth[x] > s->depth[y]) up_b[nbp++] = s->pslot[x], x = s->parent[x];
  while (s->depth[y] > s->depth[x]) up_a[na++] = s->pslot[y], y = s->parent[y];
  while (x != y) {
    up_b[nbp++] = s->pslot[x], x = s->parent[x];
    up_a[na++] = s->pslot[y], y = s->parent[y];
  }
  const int column_side = nbp; /* up_b[0 .. column_side) lie on column ej's way up */
  for (int t = na - 1; t >= 0; --t) up_b[nbp++] = up_a[t];
  int leave = -1, leave_at = -1;
  double theta = 0.0;
  for (int t = 0; t < nbp; t += 2) {
    int k = up_b[t];
    if (leave < 0 || s->bx[k] < theta ||
        (s->bx[k] == theta && s->bi[k] * s->n + s->bj[k] < s->bi[leave] * s->n + s->bj[leave]))
      leave = k, theta = s->bx[k], leave_at = t;
  }
  for (int t = 0; t < nbp; ++t) s->bx[up_b[t]] += (t % 2 == 0) ? -theta : theta;
  s->basic[(size_t)s->bi[leave] * s->n + s->bj[leave]] = 0;
  slot_remove(s, s->bi[leave], leave);
  slot_remove(s, m + s->bj[leave], leave);
  s->bi[leave] = ei, s->bj[leave] = ej, s->bx[leave] = theta;
  s->basic[(size_t)ei * s->n + ej] = 1;
  slots_of(s, ei)[s->degree[ei]++] = leave;
  slots_of(s, m + ej)[s->degree[m + ej]++] = leave;
  /* The leaving slot cut off the subtree holding the entering end on its side of the cycle. */
  if (leave_at < column_side) rehang(s, m + ej, ei, leave);
  else rehang(s, ei, m + ej, leave);
}

/* min_j (row[j] - ui - v[j]): the row's least reduced cost. Minima over independent chains, in
 * SSE2 lanes where the machine has them (x86-64 always does); min is exact, so neither the
 * order nor the lanes can change the result, and only the winning row is rescanned for its
 * lowest column. Reduced costs are never NaN, so the lanes' min is the scalar one. */
static double row_min(const double *row, const double *v, double ui, int n) {
  double best = INFINITY;
  int j = 0;
#if defined(__SSE2__)
  const __m128d u = _mm_set1_pd(ui);
  __m128d m0 = _mm_set1_pd(INFINITY), m1 = m0, m2 = m0, m3 = m0;
  for (; j + 8 <= n; j += 8) {
    m0 = _mm_min_pd(m0, _mm_sub_pd(_mm_sub_pd(_mm_loadu_pd(row + j), u), _mm_loadu_pd(v + j)));
    m1 = _mm_min_pd(m1, _mm_sub_pd(_mm_sub_pd(_mm_loadu_pd(row + j + 2), u), _mm_loadu_pd(v + j + 2)));
    m2 = _mm_min_pd(m2, _mm_sub_pd(_mm_sub_pd(_mm_loadu_pd(row + j + 4), u), _mm_loadu_pd(v + j + 4)));
    m3 = _mm_min_pd(m3, _mm_sub_pd(_mm_sub_pd(_mm_loadu_pd(row + j + 6), u), _mm_loadu_pd(v + j + 6)));
  }
  __m128d m = _mm_min_pd(_mm_min_pd(m0, m1), _mm_min_pd(m2, m3));
  double lanes[2];
  _mm_storeu_pd(lanes, m);
  best = lanes[0] < lanes[1] ? lanes[0] : lanes[1];
#endif
  for (; j < n; ++j) {
    double r = row[j] - ui - v[j];
    best = r < best ? r : best;
  }
  return best;
}

/* The non-basic cell with the most negative reduced cost below threshold (lowest index on
 * ties), or -1. A basic cell's reduced cost is 0 up to rounding far below the threshold, so
 * the fast pass skips the basis check; check_basic = 1 redoes the scan with it, should rounding
 * ever let a basic cell through. */
static int price(const simplex *s, double threshold, int check_basic) {
  const int m = s->m, n = s->n;
  const double *v = s->pot + m;
  double best = threshold;
  int enter = -1, best_row = -1;
  for (int i = 0; i < m; ++i) {
    const double *row = s->c + (size_t)i * n, ui = s->pot[i];
    const unsigned char *brow = s->basic + (size_t)i * n;
    if (check_basic) {
      for (int j = 0; j < n; ++j) {
        double r = row[j] - ui - v[j];
        if (r < best && !brow[j]) best = r, enter = i * n + j;
      }
      continue;
    }
    double rmin = row_min(row, v, ui, n);
    if (rmin < best) best = rmin, best_row = i;
  }
  if (check_basic || best_row < 0) return enter;
  const double *row = s->c + (size_t)best_row * n, ui = s->pot[best_row];
  for (int j = 0; j < n; ++j)
    if (row[j] - ui - v[j] == best) return best_row * n + j;
  return -1;
}

chr_status emd_reference_dual(const chr_qhist *q, const uint16_t *bins, const float *mass, int n,
                        double *distance, double *dual, chr_error *err) {
  chr_status st = CHR_OK;
  void *buf = NULL;
  int *tree_slots = NULL;
  if (q == NULL || bins == NULL || mass == NULL || distance == NULL)
    return chr_error_set(err, CHR_EINVAL, "emd: NULL argument; expected q, bins, mass, distance");
  double total = 0.0;
  st = chr_support_check("emd", q, bins, mass, n, &total, err);
  if (st != CHR_OK) return st;

  const int m = q->count, nn = m + n, nb = m + n - 1;
  const size_t mn = (size_t)m * (size_t)n;
  const size_t ndbl = mn + (size_t)nb + (size_t)nn + (size_t)nn;
  const size_t nint = 2 * (size_t)nb + (size_t)(nn + 1) + 2 * (size_t)nb + 7 * (size_t)nn;
  buf = malloc(ndbl * sizeof(double) + nint * sizeof(int) + mn + (size_t)nn);
  tree_slots = malloc((2 * mn + (size_t)nn) * sizeof *tree_slots);
  if (buf == NULL || tree_slots == NULL) {
    st = chr_error_set(err, CHR_ENOMEM, "emd: out of memory for a %d x %d problem", m, n);
    goto cleanup;
  }
  double *c = buf, *bx = c + mn, *pot = bx + nb, *supply = pot + nn, *demand = supply + m;
  int *ip = (int *)(c + ndbl);
  simplex s = {.m = m, .n = n, .nb = nb, .c = c, .bx = bx, .pot = pot};
  s.bi = ip, s.bj = ip + nb, s.off = ip + 2 * nb, s.adj = s.off + nn + 1;
  s.cur = s.adj + 2 * nb, s.queue = s.cur + nn, s.parent = s.queue + nn;
  s.pslot = s.parent + nn, s.depth = s.pslot + nn, s.path = s.depth + nn;
  unsigned char *flags = (unsigned char *)(s.path + 2 * nn);
  s.basic = flags;
  s.slots = tree_slots, s.degree = tree_slots + 2 * mn;
  memset(flags, 0, mn + (size_t)nn);

  double cmax = 0.0;
  for (int i = 0; i < m; ++i) {
    supply[i] = q->mass[i];
    for (int j = 0; j < n; ++j) {
      double cij = chr_grid_cost(q->bin[i], bins[j]);
      c[(size_t)i * n + j] = cij;
      if (cij > cmax) cmax = cij;
    }
  }
  for (int j = 0; j < n; ++j) demand[j] = (double)mass[j] / total;
  initial_basis(&s, supply, demand, flags + mn);

  const double tol = CHR_EMD_TOL * cmax;
  const long max_iter = 100L * nn + 10000L;
  int optimal = 0;
  /* The start is a spanning tree; pivots keep it one and rehang only what moves. */
  long it = build_tree(&s) == nn ? 0 : max_iter;
  if (it == 0) slots_init(&s);
  for (; it < max_iter; ++it) {
    int enter = price(&s, -tol, 0);
    if (enter >= 0 && s.basic[enter]) enter = price(&s, -tol, 1);
    if (enter < 0) {
      optimal = 1;
      break;
    }
    pivot(&s, enter / n, enter % n);
  }
  if (!optimal) {
    st = chr_error_set(err, CHR_EINVAL,
                       "emd: did not converge within %ld iterations on a %d x %d problem", max_iter,
                       m, n);
    goto cleanup;
  }
  double d = 0.0;
  for (int k = 0; k < nb; ++k) d += bx[k] * c[(size_t)s.bi[k] * n + s.bj[k]];
  *distance = d;
  /* The last tree's row potentials: optimal duals of the query side (row 0 pinned at 0). */
  if (dual != NULL) memcpy(dual, pot, (size_t)m * sizeof *dual);
cleanup:
  free(buf);
  free(tree_slots);
  return st;
}
