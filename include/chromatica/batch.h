/* The JSON query batch (spec section 7): parse, validate, and turn every query into its
 * search plan. A bad query is marked failed with one message naming the field, the value and
 * what was expected; the others are unaffected. Only a batch that cannot be read at all fails
 * the parse. No MPI calls; not collective. */
#ifndef CHROMATICA_BATCH_H
#define CHROMATICA_BATCH_H

#include <stddef.h>

#include "chromatica/color.h"
#include "chromatica/error.h"
#include "chromatica/query.h"
#include "chromatica/search.h"

#define CHR_MAX_CONCURRENT_MAX 50
#define CHR_QUERY_ID_MAX 128
/* Rank 0 holds every query's results and report: 100,000 queries peak at about 2.7 GB. */
#define CHR_BATCH_QUERIES_MAX 100000
#define CHR_BATCH_FILE_MAX (1LL << 30) /* bytes of one batch file */
#define CHR_BATCH_WARNINGS_MAX 64      /* distinct unknown-key warnings kept; later ones dropped */

typedef struct {
  char id[CHR_QUERY_ID_MAX];
  int ok; /* 0: failed validation, see error */
  char error[CHR_ERROR_MESSAGE_MAX];
  int n_colors;
  chr_rgb colors[CHR_QUERY_MAX_COLORS];
  double weights[CHR_QUERY_MAX_COLORS]; /* normalised to sum 1 */
  chr_search_options options;
  chr_qhist hist; /* the query histogram, valid when ok */
} chr_batch_query;

typedef struct chr_batch chr_batch;

/* Parses a batch from text (len bytes, need not be NUL-terminated). The caller owns *out. */
chr_status chr_batch_parse(const char *text, size_t len, chr_batch **out, chr_error *err);

/* Reads path and parses it; errors name the path. */
chr_status chr_batch_load(const char *path, chr_batch **out, chr_error *err);

void chr_batch_destroy(chr_batch **p);

int chr_batch_count(const chr_batch *b);
const chr_batch_query *chr_batch_query_at(const chr_batch *b, int i);
int chr_batch_max_concurrent(const chr_batch *b);

/* Unknown keys, each listed once ("queries[].colour", "options.foo"). Owned by the batch. */
int chr_batch_warning_count(const chr_batch *b);
const char *chr_batch_warning(const chr_batch *b, int i);

#endif
