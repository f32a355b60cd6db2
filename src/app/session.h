/* What `chromatica search` and `chromatica eval` share: reading the batch and the dataset on
 * rank 0, laying out groups x shards, loading every rank's shard and sending the queries to all
 * ranks. Private to src/app. Collective on comm. */
#ifndef CHROMATICA_APP_SESSION_H
#define CHROMATICA_APP_SESSION_H

#include <mpi.h>

#include "chromatica/batch.h"
#include "chromatica/dataset.h"
#include "chromatica/mpi_layout.h"
#include "chromatica/results.h"
#include "chromatica/scan.h"

typedef struct {
  const char *dataset, *queries;
  const char *out;    /* checked writable before any work */
  const char *shards; /* NULL: the memory-aware default */
  const char *io;     /* "scatter" (NULL) or "parallel" */
} chr_session_args;

typedef struct {
  /* rank 0 only */
  chr_batch *batch;
  chr_dataset *ds;
  char **ids, **paths;
  chr_rgb *palettes;
  float *palette_weights;
  /* every rank */
  int64_t images;
  int max_concurrent;
  chr_layout layout;
  chr_index *idx;
  chr_batch_query *queries; /* n entries; on rank 0 they belong to the batch */
  int n;
  int independent_io;      /* --io parallel: HDF5 fell back to independent reads */
  chr_rank_stats mine;     /* this rank's read and distribute times */
  double read_ms, distribute_ms; /* job phases, rank 0's view */
} chr_session;

/* Opens everything; on failure every rank returns the same status and err holds rank 0's
 * message. Close with chr_session_close whatever the outcome. */
chr_status chr_session_open(MPI_Comm comm, const chr_session_args *a, chr_session *s,
                            chr_error *err);

/* Frees everything the session holds. Not collective (communicators are freed locally). */
void chr_session_close(chr_session *s);

/* This process's peak resident set size in MB. */
double chr_peak_rss_mb(void);

#endif
