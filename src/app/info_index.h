/* `chromatica info` on a format-2 dataset: verifies the stored index against every row of
 * /histograms (the full check a search only samples). Private to src/app. Not collective. */
#ifndef CHROMATICA_APP_INFO_INDEX_H
#define CHROMATICA_APP_INFO_INDEX_H

#include "chromatica/dataset_index.h"

typedef struct info_index info_index;

/* Prepares the check of ds's index (meta from chr_dataset_index_meta, present) for blocks of
 * at most block_rows rows. CHR_ENOMEM. */
chr_status chr_info_index_begin(chr_dataset *ds, const chr_index_meta *meta, int64_t block_rows,
                                info_index **out, chr_error *err);

/* Compares the stored sparse rows and root columns of rows [first, first + count) with those
 * of the (checked) dense rows; CHR_EFORMAT naming the first row that differs. */
chr_status chr_info_index_block(info_index *x, const float *rows, int64_t first, int64_t count,
                                chr_error *err);

/* After every block: the fingerprint of all rows must equal the stored checksum. Frees x. */
chr_status chr_info_index_end(info_index **x, chr_error *err);

#endif
