/* Exact W1 between a query and one image on their supports (spec section 5, metric "emd").
 *
 * The mass a query bin and an image bin hold in the same grid bin stays there at no cost (W1 under
 * a metric depends on a - b alone), so it is taken off both first (remove_shared_mass): on real
 * pairs about a fifth of the mass and a sixth of the query's rows, which need no pivots then; the
 * query side's duals of the whole problem follow from the reduced one's (whole_duals).
 * Transportation simplex on the m x n problem left (m query bins supply a, n image bins demand b):
 *   - initial basis by the column-minimum rule on row-shifted costs, the columns in
 *     descending order of regret, crossing out exactly one line per assigned cell, so it
 *     always holds m + n - 1 cells forming a spanning tree of the bipartite row/column graph;
 *     degenerate (zero-flow) basic cells are kept;
 *   - the tree is built once with its MODI potentials u_i + v_j = C_ij; each iteration enters a
 *     cell of negative reduced cost chosen from a candidate list (price), pivots along the tree
 *     path closing the cycle (ratio test on the minus cells, lowest cell index leaves on ties),
 *     and rehangs only the subtree the leaving cell cut off, recomputing its parents, depths
 *     and potentials from its parent's.
 * Everything is sequential, ordered by index and depends on the pair alone (the query's cost
 * table only saves computing costs), so results are bit-identical run to run and whatever
 * else was solved before; they agree with the pre-issue-14 solver (another pivot path) within
 * rounding (tests/unit/test_emd_bits.c: 1e-12 relative, plus an optimality check). */
#include "chromatica/emd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/grid.h"
#include "emd_kernels.h"
#include "support.h"

/* Reduced costs above -CHR_EMD_TOL * max(C) count as optimal: far above the rounding noise of
 * potentials summed along a tree path (~depth * 1e-16 * max(C)), and the duality gap it allows
 * is at most this times the total mass (1). */
#define CHR_EMD_TOL 1e-11

/* Rows a full scan keeps as candidates (price): the 4 with the most negative minima. More cost a
 * find each and are rarely entered before the next scan (measured: 1-3 and 8-40 are slower on
 * real and synthetic supports). */
#define CHR_EMD_CAND 4

typedef struct {
  int m, n, nb; /* rows, columns, basic cells = m + n - 1 */
  double *c;
  const double *shift; /* the start's row shifts (initial_basis) */
  int *bi, *bj;        /* basic cell of each slot */
  double *bx;          /* its flow */
  unsigned char *basic;
  int *off, *cur, *adj, *queue, *path;
  /* Per node, and for node m + n, a spare that rehang writes in place of a node's own parent
   * so that its loop has no branch: the tree's parent, the slot to it, the depth, and the
   * potential (u_i at node i, v_j at node m + j). */
  int *parent, *pslot, *depth;
  double *pot;
  /* The tree's edges at each node, kept across pivots, as (slot, other node) pairs: row i's at
   * entry i n (at most n), column j's at entry m n + j m (at most m); base[v] is that entry,
   * degree[v] of them are used. bc[k] is the cost of slot k's cell, so rehang reads neither
   * the cell's row and column nor the cost matrix. */
  int *slots, *degree, *base;
  int *spos; /* slot k's entry in its row's list (2 k) and its column's (2 k + 1) */
  double *bc;
  int *cand, ncand; /* candidate list (price): (row, column) of up to CHR_EMD_CAND cells */
} simplex;

/* Column-minimum start on the costs less each row's shift, its mean cost under the image's masses
 * (C_ij - sum_t b_t C_it; fill_costs). Those shifts are the optimal row duals when the image is
 * merged into one bin, a cheap guess at the real ones: a query bin far from the whole image no
 * longer loses every column to nearer ones only to take the leftovers last. They change only the
 * basis the pivots start from: 24-29 % fewer pivots than the raw costs on openclipart, Twemoji
 * and synthetic supports (the row minimum as shift saves 8 %).
 * The columns are taken in descending order of regret (the gap between their two least shifted
 * costs): a column that loses much by not getting its cheapest row is served first, one that
 * hardly cares last, as in Vogel's approximation but with the regrets computed once, and ordered
 * only into CHR_EMD_REGRET_BUCKETS bands (a counting sort, columns in index order within a band):
 * about 15 % fewer pivots than the plain column order for O(m n) work. Each image bin in turn
 * takes mass from its cheapest (shifted) query bins that still have supply (lowest row on ties).
 * Each assignment crosses out exactly one line, the exhausted row unless it is the last row, else
 * the column; so the m + n - 1 cells (zero flows included) form a spanning tree. order needs n
 * ints and CHR_EMD_REGRET_BUCKETS + 1 more. */
#define CHR_EMD_REGRET_BUCKETS 16

static void regret_order(const simplex *s, int *order, int *count, int *cheapest,
                         const chr_emd_kernels *kern) {
  const int m = s->m, n = s->n;
  /* The column potentials and the flows are free until the start is built. */
  double *regret = s->pot + m, *second = s->bx;
  kern->least(s->c, s->shift, m, n, regret, second, cheapest);
  double top = 0.0;
  for (int j = 0; j < n; ++j) {
    regret[j] = m > 1 ? second[j] - regret[j] : 0.0;
    top = regret[j] > top ? regret[j] : top;
  }
  const double scale = top > 0.0 ? CHR_EMD_REGRET_BUCKETS / top : 0.0;
  memset(count, 0, (CHR_EMD_REGRET_BUCKETS + 1) * sizeof *count);
  for (int j = 0; j < n; ++j) {
    int band = CHR_EMD_REGRET_BUCKETS - 1 - (int)(regret[j] * scale);
    regret[j] = band < 0 ? 0 : band; /* highest regret first */
    ++count[(int)regret[j] + 1];
  }
  for (int b = 0; b < CHR_EMD_REGRET_BUCKETS; ++b) count[b + 1] += count[b];
  for (int j = 0; j < n; ++j) order[count[(int)regret[j]]++] = j;
}

static void initial_basis(simplex *s, double *supply, double *demand, unsigned char *row_done,
                          int *order, const chr_emd_kernels *kern) {
  const int m = s->m, n = s->n;
  int *cheapest = s->depth; /* free until the tree is built */
  regret_order(s, order, order + n, cheapest, kern);
  int rows_left = m, k = 0;
  for (int jj = 0; jj < n && k < s->nb; ++jj) {
    const int j = order[jj];
    for (;;) {
      int i = cheapest[j]; /* the lowest of the column's cheapest rows, while it has supply */
      if (row_done[i]) {
        double low = INFINITY; /* c[i][j], held here: row_done may alias c for the compiler */
        for (int r = 0; r < m; ++r) {
          double crj = row_done[r] ? INFINITY : s->c[(size_t)r * n + j] - s->shift[r];
          i = crj < low ? r : i;
          low = crj < low ? crj : low;
        }
      }
      double x = supply[i] < demand[j] ? supply[i] : demand[j];
      supply[i] -= x;
      demand[j] -= x;
      s->bi[k] = i, s->bj[k] = j, s->bx[k] = x, s->basic[(size_t)i * n + j] = 1, ++k;
      if (k == s->nb) break;
      if (jj == n - 1 || (rows_left > 1 && supply[i] <= demand[j])) {
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
  return s->slots + 2 * (size_t)s->base[v];
}

static void slot_add(simplex *s, int k) {
  const int r = s->bi[k], c = s->m + s->bj[k];
  s->spos[2 * k] = s->degree[r], s->spos[2 * k + 1] = s->degree[c];
  int *lr = slots_of(s, r) + 2 * s->degree[r]++, *lc = slots_of(s, c) + 2 * s->degree[c]++;
  lr[0] = k, lr[1] = c, lc[0] = k, lc[1] = r;
  s->bc[k] = s->c[(size_t)s->bi[k] * s->n + s->bj[k]];
}

static void slots_init(simplex *s) {
  const int m = s->m, n = s->n;
  memset(s->degree, 0, (size_t)(m + n) * sizeof *s->degree);
  for (int v = 0; v < m + n; ++v) s->base[v] = v < m ? v * n : m * n + (v - m) * m;
  for (int k = 0; k < s->nb; ++k) slot_add(s, k);
}

/* Removes slot k from node v's list (side 0: v is its row, 1: its column): the last entry
 * takes its place. */
static void slot_remove(simplex *s, int v, int k, int side) {
  int *list = slots_of(s, v);
  const int e = s->spos[2 * k + side], last = --s->degree[v], moved = list[2 * last];
  list[2 * e] = moved, list[2 * e + 1] = list[2 * last + 1];
  s->spos[2 * moved + side] = e;
}

/* After a pivot the subtree cut off by the leaving slot hangs from the entering slot k, at node
 * top below node above: its parents, depths and potentials are set again, each potential from
 * its parent's along the one tree path from the root, so they equal what build_tree would
 * compute from scratch, bit for bit. O(size of the subtree). A node's edge back to its parent
 * writes the spare node instead, and only nodes with children are queued (most columns are
 * leaves), so the loop does not branch on either (about 10 % off a solve on openclipart). */
static void rehang(simplex *s, int top, int above, int k) {
  s->parent[top] = above, s->pslot[top] = k, s->depth[top] = s->depth[above] + 1;
  s->pot[top] = s->bc[k] - s->pot[above];
  int head = 0, tail = 0;
  s->queue[tail++] = top;
  while (head < tail) {
    const int v = s->queue[head++], from = s->parent[v], dw = s->depth[v] + 1;
    const double pv = s->pot[v];
    const int *list = slots_of(s, v);
    const int degree = s->degree[v], spare = s->m + s->n;
    for (int e = 0; e < degree; ++e) {
      const int slot = list[2 * e], w = list[2 * e + 1], to = w == from ? spare : w;
      s->parent[to] = v, s->pslot[to] = slot, s->depth[to] = dw;
      s->pot[to] = s->bc[slot] - pv;
      s->queue[tail] = w;
      tail += (w != from) & (s->degree[w] > 1);
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
  slot_remove(s, s->bi[leave], leave, 0);
  slot_remove(s, m + s->bj[leave], leave, 1);
  s->bi[leave] = ei, s->bj[leave] = ej, s->bx[leave] = theta;
  s->basic[(size_t)ei * s->n + ej] = 1;
  slot_add(s, leave);
  /* The leaving slot cut off the subtree holding the entering end on its side of the cycle. */
  if (leave_at < column_side)
    rehang(s, m + ej, ei, leave);
  else
    rehang(s, ei, m + ej, leave);
}

/* The widest kernels this CPU runs (cheap: the CPU model is cached). */
static chr_emd_kernels pick_kernels(void) {
  for (int level = 2; level > 0; --level)
    if (chr_emd_kernels_at(level).min != NULL) return chr_emd_kernels_at(level);
  return chr_emd_kernels_at(0);
}

/* The entering cell: a non-basic cell with reduced cost below threshold, or -1 (optimal).
 * Candidate-list pricing: a full scan takes every row's least reduced cost, keeps the
 * CHR_EMD_CAND rows with the most negative ones (lowest row on ties) with their first column
 * holding it, and returns the first; the next pivots re-price only that list (dropping the cells
 * no longer negative, the entered one among them, so it runs dry), then scan again. Only a full
 * scan that finds nothing ends the solve, so the result is optimal; between scans the duals
 * change on one subtree per pivot, so the list mostly stays good. A basic cell's reduced cost is
 * 0 up to rounding far above threshold, so the fast scan skips the basis check; check_basic = 1
 * scans every cell with it, should rounding ever let a basic cell through. */
static int price(simplex *s, double threshold, int check_basic, const chr_emd_kernels *kern) {
  const int m = s->m, n = s->n;
  const double *v = s->pot + m;
  double best = threshold;
  int enter = -1;
  if (check_basic) {
    for (int i = 0; i < m; ++i) {
      const double *row = s->c + (size_t)i * n, ui = s->pot[i];
      const unsigned char *brow = s->basic + (size_t)i * n;
      for (int j = 0; j < n; ++j) {
        double r = row[j] - ui - v[j];
        if (r < best && !brow[j]) best = r, enter = i * n + j;
      }
    }
    return enter;
  }
  if (s->ncand > 0) {
    int kept = 0;
    for (int k = 0; k < s->ncand; ++k) {
      const int i = s->cand[2 * k], j = s->cand[2 * k + 1], cell = i * n + j;
      double r = s->c[cell] - s->pot[i] - v[j];
      const int keep = (r < threshold) & !s->basic[cell], wins = keep & (r < best);
      s->cand[2 * kept] = i, s->cand[2 * kept + 1] = j, kept += keep; /* no branches */
      best = wins ? r : best;
      enter = wins ? cell : enter;
    }
    s->ncand = kept;
    if (enter >= 0) return enter;
  }
  double low[CHR_QUERY_MAX_BINS];
  kern->min(s->c, m, n, s->pot, v, low);
  s->ncand = 0;
  int neg[CHR_QUERY_MAX_BINS], nneg = 0; /* the rows below threshold, in order */
  for (int t = 0; t < m; ++t) neg[nneg] = t, nneg += low[t] < threshold;
  for (int k = 0; k < CHR_EMD_CAND; ++k) { /* the rows with the least minima, in that order */
    int i = -1;
    double r = threshold;
    for (int e = 0; e < nneg; ++e) {
      const int t = neg[e];
      i = low[t] < r ? t : i, r = low[t] < r ? low[t] : r;
    }
    if (i < 0) break;
    low[i] = INFINITY;
    int j = kern->find(s->c + (size_t)i * n, v, s->pot[i], n, r);
    if (j >= n) continue;
    s->cand[2 * s->ncand] = i, s->cand[2 * s->ncand + 1] = j, ++s->ncand;
    if (enter < 0) enter = i * n + j;
  }
  return enter;
}

chr_status chr_emd(const chr_qhist *q, const uint16_t *bins, const float *mass, int n,
                   double *distance, chr_error *err) {
  return chr_emd_dual(q, bins, mass, n, distance, NULL, err);
}

chr_status chr_emd_dual(const chr_qhist *q, const uint16_t *bins, const float *mass, int n,
                        double *distance, double *dual, chr_error *err) {
  return chr_emd_dual_table(q, NULL, bins, mass, n, distance, dual, err);
}

/* W1 under a metric ground cost depends on a - b alone (Kantorovich-Rubinstein), so the mass a
 * query bin and an image bin share in the same grid bin can stay where it is at no cost: each image
 * column whose bin is a query bin takes min(a_i, b_j) off both. The rows still holding supply move
 * to the front of supply, in order, their query rows in rows[0 .. *m_left), the emptied ones after
 * them in rows[*m_left .. m); the columns still holding demand likewise to the front of demand,
 * their grid bins in left_bins[0 .. *n_left). */
static void remove_shared_mass(const chr_qhist *q, const uint16_t *bins, double *supply,
                               double *demand, int n, int *rows, int *m_left, int *left_bins,
                               int *n_left) {
  const int m = q->count;
  unsigned char row_of[CHR_BINS]; /* 1 + the query row of a bin, 0 for none */
  memset(row_of, 0, sizeof row_of);
  for (int i = 0; i < m; ++i) row_of[q->bin[i]] = (unsigned char)(i + 1);
  int kept = 0;
  for (int j = 0; j < n; ++j) {
    const int i = row_of[bins[j]] - 1;
    if (i >= 0) {
      const double shared = supply[i] < demand[j] ? supply[i] : demand[j];
      supply[i] -= shared, demand[j] -= shared;
    }
    if (demand[j] > 0.0) left_bins[kept] = bins[j], demand[kept++] = demand[j];
  }
  *n_left = kept;
  int front = 0, back = m;
  for (int i = 0; i < m; ++i)
    if (supply[i] > 0.0)
      rows[front] = i, supply[front++] = supply[i];
    else
      rows[--back] = i;
  for (int lo = front, hi = m - 1; lo < hi; ++lo, --hi) { /* the emptied rows in order */
    const int t = rows[lo];
    rows[lo] = rows[hi], rows[hi] = t;
  }
  *m_left = front;
}

/* The costs of query rows rows[0 .. m) to the grid bins left_bins[0 .. n), m x n row-major, from
 * the query's rows when given, and each row's mean cost under the columns' masses demand (shift,
 * the start's row shifts); returns the largest cost. */
static double fill_costs(double *c, double *shift, const chr_qhist *q,
                         const double (*cost)[CHR_BINS], const int *rows, int m,
                         const int *left_bins, const double *demand, int n) {
  double cmax = 0.0, total = 0.0;
  for (int j = 0; j < n; ++j) total += demand[j];
  for (int r = 0; r < m; ++r) {
    const int i = rows[r];
    double *row = c + (size_t)r * n, mean = 0.0;
    for (int j = 0; j < n; ++j) {
      row[j] = cost != NULL ? cost[i][left_bins[j]] : chr_grid_cost(q->bin[i], left_bins[j]);
      cmax = row[j] > cmax ? row[j] : cmax;
      mean += demand[j] * row[j];
    }
    shift[r] = mean / total;
  }
  return cmax;
}

/* Pivots from the start tree to an optimal one: 1, or 0 if the start was not a spanning tree or
 * the iteration cap was reached. */
static int solve(simplex *s, double tol, long max_iter, const chr_emd_kernels *kern) {
  const int n = s->n;
  if (build_tree(s) != s->m + n) return 0;
  slots_init(s);
  for (long it = 0; it < max_iter; ++it) {
    int enter = price(s, -tol, 0, kern);
    if (enter >= 0 && s->basic[enter]) enter = price(s, -tol, 1, kern);
    if (enter < 0) return 1;
    pivot(s, enter / n, enter % n);
  }
  return 0;
}

/* Carves the work buffers for problems of up to m rows and n columns into s (sizes in
 * chr_emd_dual_table) and clears the basis flags; s->m and s->n are set by the caller. Returns
 * the n ints left for the columns' bins (remove_shared_mass). */
static int *carve(simplex *s, double *buf, int *tree_slots, int m, int n) {
  const int nn = m + n, nb = m + n - 1;
  const size_t mn = (size_t)m * (size_t)n, nodes = (size_t)nn + 1;
  s->c = buf, s->bx = buf + mn, s->bc = s->bx + nb, s->pot = s->bc + nb;
  int *ip = (int *)(s->pot + nodes + (size_t)nn);
  s->bi = ip, s->bj = ip + nb, s->off = ip + 2 * nb, s->adj = s->off + nn + 1;
  s->cur = s->adj + 2 * nb, s->queue = s->cur + nn, s->parent = s->queue + nn;
  s->pslot = s->parent + nodes, s->depth = s->pslot + nodes, s->path = s->depth + nodes;
  int *left_bins = s->path + 2 * nn;
  s->basic = (unsigned char *)(left_bins + n);
  memset(s->basic, 0, mn + (size_t)nn);
  s->slots = tree_slots, s->degree = tree_slots + 4 * mn, s->base = s->degree + nn;
  s->spos = s->base + nn;
  return left_bins;
}

/* The query side's duals u of the whole problem from the reduced one's (remove_shared_mass):
 * f(z) = min over the columns left of (C(z, column) - v) is 1-Lipschitz (C is a metric), equals
 * the reduced problem's row potential on the rows left (each has a basic cell, where equality
 * holds) and, with u_i = f(bin i) and every image bin's v = -f, the pair is optimal for the whole
 * problem. The emptied rows' costs are filled after the rows left, as rows m_left .. m - 1. */
static void whole_duals(simplex *s, const chr_qhist *q, const double (*cost)[CHR_BINS],
                        const int *rows, const int *left_bins, const double *demand, double *dual,
                        const chr_emd_kernels *kern) {
  const int m_left = s->m, n_left = s->n, m_out = q->count - m_left;
  for (int r = 0; r < m_left; ++r) dual[rows[r]] = s->pot[r];
  if (m_out == 0) return;
  double *c = s->c + (size_t)m_left * n_left, zero[CHR_QUERY_MAX_BINS] = {0.0};
  double f[CHR_QUERY_MAX_BINS], unused[CHR_QUERY_MAX_BINS];
  fill_costs(c, unused, q, cost, rows + m_left, m_out, left_bins, demand, n_left);
  kern->min(c, m_out, n_left, zero, s->pot + m_left, f);
  for (int r = 0; r < m_out; ++r) dual[rows[m_left + r]] = f[r];
}

chr_status chr_emd_dual_table(const chr_qhist *q, const double (*cost)[CHR_BINS],
                              const uint16_t *bins, const float *mass, int n, double *distance,
                              double *dual, chr_error *err) {
  if (q == NULL || bins == NULL || mass == NULL || distance == NULL)
    return chr_error_set(err, CHR_EINVAL, "emd: NULL argument; expected q, bins, mass, distance");
  double total = 0.0;
  chr_status st = chr_support_check("emd", q, bins, mass, n, &total, err);
  if (st != CHR_OK) return st;

  /* Sized for the whole m x n problem, which the reduced one never exceeds. */
  const int m = q->count, nn = m + n, nb = m + n - 1;
  const size_t mn = (size_t)m * (size_t)n;
  const size_t nodes = (size_t)nn + 1; /* with rehang's spare */
  const size_t ndbl = mn + 2 * (size_t)nb + nodes + (size_t)nn;
  const size_t nint =
      2 * (size_t)nb + (size_t)(nn + 1) + 2 * (size_t)nb + 4 * (size_t)nn + 3 * nodes + (size_t)n;
  double *buf = malloc(ndbl * sizeof(double) + nint * sizeof(int) + mn + (size_t)nn);
  int *tree_slots =
      malloc((4 * mn + 2 * (size_t)nn + 2 * (size_t)nb + CHR_EMD_REGRET_BUCKETS + 1) * sizeof(int));
  if (buf == NULL || tree_slots == NULL) {
    st = chr_error_set(err, CHR_ENOMEM, "emd: out of memory for a %d x %d problem", m, n);
    goto cleanup;
  }
  int cand[2 * CHR_QUERY_MAX_BINS], rows[CHR_QUERY_MAX_BINS];
  simplex s = {.cand = cand};
  int *left_bins = carve(&s, buf, tree_slots, m, n);
  double *supply = s.pot + nodes, *demand = supply + m;
  for (int i = 0; i < m; ++i) supply[i] = q->mass[i];
  for (int j = 0; j < n; ++j) demand[j] = (double)mass[j] / total;
  remove_shared_mass(q, bins, supply, demand, n, rows, &s.m, left_bins, &s.n);
  const chr_emd_kernels kern = pick_kernels();
  *distance = 0.0;
  if (dual != NULL) memset(dual, 0, (size_t)m * sizeof *dual);
  if (s.m == 0 || s.n == 0) goto cleanup; /* the two histograms are equal: nothing moves */

  s.nb = s.m + s.n - 1;
  double shift[CHR_QUERY_MAX_BINS];
  const double cmax = fill_costs(s.c, shift, q, cost, rows, s.m, left_bins, demand, s.n);
  s.shift = shift;
  /* The start's column order takes n + 17 ints of tree_slots, before the tree uses them. */
  initial_basis(&s, supply, demand, s.basic + mn, tree_slots, &kern);
  const long max_iter = 100L * (s.m + s.n) + 10000L;
  if (!solve(&s, CHR_EMD_TOL * cmax, max_iter, &kern)) {
    st = chr_error_set(err, CHR_EINVAL,
                       "emd: did not converge within %ld iterations on a %d x %d problem", max_iter,
                       m, n);
    goto cleanup;
  }
  double d = 0.0;
  for (int k = 0; k < s.nb; ++k) d += s.bx[k] * s.c[(size_t)s.bi[k] * s.n + s.bj[k]];
  *distance = d;
  if (dual != NULL) whole_duals(&s, q, cost, rows, left_bins, demand, dual, &kern);
cleanup:
  free(buf);
  free(tree_slots);
  return st;
}
