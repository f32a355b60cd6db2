/* The exact EMD kernel alone, side by side with its pre-issue-14 copy (tests/unit/emd_reference.c):
 * the first PAIRS stage-1 candidates of each query of a batch (their real supports), each pair
 * timed REPS times (fastest kept) for both solvers in turn, the current one with the query's cost
 * table (chr_emd_bounds.cost) as the rerank passes it; prints medians, their ratio and how many
 * distances differ in any bit. Writes the pairs for emd_pot_time.py (POT ot.emd2 on the same
 * supports). NOREF=1 in the environment runs the reference once, untimed (for profiling the current
 * solver). usage: bench_emd DATASET.h5 BATCH.json R PAIRS REPS [PAIRS_OUT.txt] */
#include <mpi.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "bench_data.h"
#include "chromatica/batch.h"
#include "chromatica/emd.h"
#include "chromatica/scan.h"
#include "chromatica/bounds.h"

#include "../unit/emd_reference.h"
typedef struct { const chr_emd_bounds *bd; const chr_qhist *q; const uint16_t *b; const float *m; int n; double dref, dnew; } pair_t;
int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int R = atoi(argv[3]), P = atoi(argv[4]), reps = atoi(argv[5]);
  chr_error err; chr_batch *batch = NULL;
  chr_index *idx = bench_load_index(argv[1], &err);
  if (!idx || chr_batch_load(argv[2], &batch, &err) != CHR_OK) { fprintf(stderr, "%s\n", err.message); return 1; }
  int nq = chr_batch_count(batch);
  pair_t *pr = malloc(sizeof *pr * (size_t)nq * P); int np = 0;
  chr_hit *hits = malloc(sizeof *hits * R);
  for (int i = 0; i < nq; ++i) {
    const chr_batch_query *bq = chr_batch_query_at(batch, i);
    if (!bq->ok) continue;
    int found = chr_scan_topk(idx, &bq->hist, R, hits, &err);
    chr_emd_bounds *bd = malloc(sizeof *bd); chr_emd_bounds_init(&bq->hist, bd);
    for (int j = 0; j < found && j < P; ++j) {
      pair_t *p = &pr[np++]; p->q = &bq->hist; p->bd = bd;
      p->n = chr_index_support(idx, hits[j].row, &p->b, &p->m);
    }
  }
  double *tr = malloc(sizeof(double) * np), *tn = malloc(sizeof(double) * np);
  for (int k = 0; k < np; ++k) tr[k] = tn[k] = INFINITY;
  long sm = 0, sn = 0;
  for (int k = 0; k < np; ++k) sm += pr[k].q->count, sn += pr[k].n;
  double du[40], du2[40];
  const int time_reference = getenv("NOREF") == NULL; /* else it runs once, for the bit check */
  for (int r = 0; r < reps; ++r)
    for (int k = 0; k < np; ++k) {
      pair_t *p = &pr[k];
      double t = omp_get_wtime();
      if (time_reference || r == 0) if (emd_reference_dual(p->q, p->b, p->m, p->n, &p->dref, du, &err) != CHR_OK) { fprintf(stderr, "ref %s\n", err.message); return 1; }
      double t1 = omp_get_wtime();
      if (chr_emd_dual_table(p->q, p->bd ? (const double (*)[CHR_BINS])p->bd->cost : NULL, p->b, p->m, p->n, &p->dnew, du2, &err) != CHR_OK) { fprintf(stderr, "new %s\n", err.message); return 1; }
      double t2 = omp_get_wtime();
      if (time_reference && t1 - t < tr[k]) tr[k] = t1 - t;
      if (t2 - t1 < tn[k]) tn[k] = t2 - t1;
    }
  int diff = 0; double worst = 0;
  for (int k = 0; k < np; ++k) {
    if (pr[k].dref != pr[k].dnew) ++diff;
    double rel = fabs(pr[k].dref - pr[k].dnew) / fmax(fabs(pr[k].dref), 1e-300);
    if (rel > worst) worst = rel;
  }
  double sr = 0, sn2 = 0; for (int k = 0; k < np; ++k) sr += tr[k], sn2 += tn[k];
  printf("pairs %d, mean query bins %.1f, image bins %.1f\n", np, (double)sm / np, (double)sn / np);
  if (time_reference)
    printf("reference median %.4f ms mean %.4f | ", bench_median(tr, np) * 1e3, sr / np * 1e3);
  else
    printf("reference not timed (NOREF) | ");
  printf("current median %.4f ms mean %.4f", bench_median(tn, np) * 1e3, sn2 / np * 1e3);
  if (time_reference) printf(" | ratio median %.2fx", bench_median(tr, np) / bench_median(tn, np));
  printf(" | bit-diff %d worst rel %.2e\n", diff, worst);
  if (argc > 6) {
    FILE *f = fopen(argv[6], "w");
    if (f == NULL) { fprintf(stderr, "bench_emd: cannot write %s\n", argv[6]); return 1; }
    for (int k = 0; k < np; ++k) {
      pair_t *p = &pr[k];
      for (int i = 0; i < p->q->count; ++i) fprintf(f, "%s%d", i ? "," : "", p->q->bin[i]);
      fputc(';', f);
      for (int i = 0; i < p->q->count; ++i) fprintf(f, "%s%.17g", i ? "," : "", p->q->mass[i]);
      fputc(';', f);
      for (int i = 0; i < p->n; ++i) fprintf(f, "%s%d", i ? "," : "", p->b[i]);
      fputc(';', f);
      for (int i = 0; i < p->n; ++i) fprintf(f, "%s%.9g", i ? "," : "", (double)p->m[i]);
      fprintf(f, ";%.17g\n", p->dnew);
    }
    if (ferror(f) | (fclose(f) != 0)) { fprintf(stderr, "bench_emd: writing %s failed\n", argv[6]); return 1; }
  }

  MPI_Finalize();
  return 0;
}
