/* The JSON report (spec section 8): turns a batch, its per-query results and the run's figures
 * into the report file, written atomically (temporary file in the same directory, fsync, rename).
 * No MPI calls; not collective (rank 0 calls it). */
#ifndef CHROMATICA_REPORT_H
#define CHROMATICA_REPORT_H

#include "chromatica/batch.h"
#include "chromatica/color.h"
#include "chromatica/error.h"
#include "chromatica/results.h"

/* Writes the report for batch to path. Nothing passed in is modified or kept; the caller owns it
 * all.
 * - results: chr_batch_count(batch) entries; results[i] is query i. A query that failed
 *   validation (chr_batch_query_at(batch, i)->ok == 0) is reported with the batch's error
 *   whatever results[i] holds; otherwise results[i].ok and .error decide.
 * - ids: run->images strings, ids[row] is the image_id of dataset row `row` (required).
 * - paths: run->images strings for file_path, or NULL to omit file_path.
 * - palettes: run->images * CHR_DOMINANT_MAX colours, row-major, or NULL to fall back to each
 *   hit's dominant_bin (bin centres; -1 slots skipped).
 * - palette_weights: same shape as palettes; a slot of weight 0 is unused. NULL: all used.
 * - run: run figures (required); ranks: n_ranks per-rank figures (NULL if n_ranks is 0).
 * - warnings: n_warnings strings for the report's warnings (NULL if n_warnings is 0).
 * A hit row outside [0, run->images) is CHR_EINVAL. On any write failure the temporary file is
 * removed, path is left untouched, and CHR_EIO names the path and the system error. */
chr_status chr_report_write(const char *path, const chr_batch *batch,
                            const chr_query_result *results, char *const *ids, char *const *paths,
                            const chr_rgb *palettes, const float *palette_weights,
                            const chr_run_info *run, const chr_rank_stats *ranks, int n_ranks,
                            char *const *warnings, int n_warnings, chr_error *err);

#endif
