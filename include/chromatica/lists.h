/* Comma-separated colour and weight lists, as users type them ("ea6a81,f6d727", "0.49,0.51").
 * Shared by the command line and the JSON batch so both give the same errors. Not collective. */
#ifndef CHROMATICA_LISTS_H
#define CHROMATICA_LISTS_H

#include "chromatica/color.h"
#include "chromatica/error.h"

/* Parses up to max colours into out and sets *n. Errors name the element, e.g.
 * "colors[1] 'GG0000': not a hex colour (expected RGB or RRGGBB)", or a count above max. */
chr_status chr_colors_parse(const char *text, chr_rgb *out, int max, int *n, chr_error *err);

/* Parses up to max numbers into out and sets *n; "weights[0] 'abc': not a number". The
 * values are not range-checked here (chr_qhist_build does that). */
chr_status chr_weights_parse(const char *text, double *out, int max, int *n, chr_error *err);

#endif
