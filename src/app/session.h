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

/* The command-line options both commands take, as given (validated by
 * chr_session_args_check). */
typedef struct {
  const char *dataset, *queries;
  const char *out;    /* checked writable before any work */
  const char *shards; /* NULL: the memory-aware default */
  const char *io;     /* "scatter" (NULL) or "parallel" */
  const char *memory; /* --memory-per-rank MB: replaces the measured budget; NULL: measure */
} chr_session_args;

/* If argv[*i] is one of the options above, stores its value, advances *i past it and returns
 * 1; returns 0 for any other argument and -1 when the value is missing. */
int chr_session_take_option(int argc, char **argv, int *i, chr_session_args *a);

/* 0 when the options are complete and valid; otherwise 1 with a message such as
 * "--io 'x': invalid (expected scatter or parallel)" or "--dataset is required". */
int chr_session_args_check(const chr_session_args *a, char *message, size_t size);

typedef struct {
  /* rank 0 only */
  chr_batch *batch;
  chr_dataset *ds;
  char **ids, **paths;         /* every row's, or (chr_session_fetch_rows) the reported rows' */
  char **row_ids, **row_paths; /* chr_session_fetch_rows: the strings of the rows it read */
  chr_rgb *palettes;           /* NULL until chr_session_fetch_rows */
  float *palette_weights;      /* ... likewise */
  /* every rank */
  int64_t images;
  int max_concurrent;
  chr_layout layout;
  chr_index *idx;
  chr_dups dups;            /* images with identical histograms (chromatica/duplicates.h) */
  chr_batch_query *queries; /* n entries; on rank 0 they belong to the batch */
  int n;
  int independent_io;            /* --io parallel: HDF5 fell back to independent reads */
  int index_stored;              /* 1: shards came from the dataset's stored index; 0: built */
  double rank_memory;            /* bytes this rank may use (measured or --memory-per-rank) */
  chr_rank_stats mine;           /* this rank's read and distribute times */
  double read_ms, distribute_ms; /* job phases, rank 0's view */
} chr_session;

/* Opens everything; on failure every rank returns the same status and err holds rank 0's
 * message. Close with chr_session_close whatever the outcome. */
chr_status chr_session_open(MPI_Comm comm, const chr_session_args *a, chr_session *s,
                            chr_error *err);

/* Rank 0, before the report: reads the ids, paths and palettes of the rows the results name
 * (hits and the rows collapsed onto them) when the session did not read them all (their
 * checks were made at open); s->ids, s->paths, s->palettes then hold those rows. */
chr_status chr_session_fetch_rows(chr_session *s, const chr_query_result *results, int n,
                                  chr_error *err);

/* Frees everything the session holds. Not collective (communicators are freed locally). */
void chr_session_close(chr_session *s);

/* This process's peak resident set size in MB. */
double chr_peak_rss_mb(void);

#endif
