/* The JSON log of a `chromatica build` (issue 4): what was asked, what was found, every skipped
 * file with its reason, and the measured times. Written atomically by rank 0. No MPI calls;
 * not collective. */
#ifndef CHROMATICA_BUILD_LOG_H
#define CHROMATICA_BUILD_LOG_H

#include <stdint.h>

#include "chromatica/error.h"

typedef struct {
  const char *path;   /* stored file path (relative to its input) */
  const char *reason; /* why it was skipped */
} chr_build_skip;

typedef struct {
  const char *output;
  char *const *inputs;
  int n_inputs;
  int recursive, max_side, ranks, threads_per_rank;
  int64_t max_pixels;
  int64_t files_found, images_built;
  int64_t ignored_links, ignored_hidden, ignored_other;
  int64_t ignored_duplicates;    /* files reached through two inputs, indexed once */
  const char *error;             /* why the build failed or stopped; NULL when it did not */
  const chr_build_skip *skipped; /* n_skipped entries in file order */
  int64_t n_skipped;
  double list_ms, build_ms, total_ms; /* measured: listing files; decoding to written rows; all */
} chr_build_summary;

/* Writes the summary as JSON to path (atomically). images_per_second is images_built over the
 * build phase. CHR_EIO/CHR_ENOMEM on failure, path untouched. */
chr_status chr_build_log_write(const char *path, const chr_build_summary *s, chr_error *err);

#endif
