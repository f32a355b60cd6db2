/* libFuzzer harness for the query parser: "COLOURS\nWEIGHTS\nSHARPEN" as users type them on the
 * command line (chromatica histogram) and in batches; any text must parse or fail cleanly. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/color.h"
#include "chromatica/lists.h"
#include "chromatica/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (text == NULL) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  char *weights = strchr(text, '\n'), *sharpen_text = NULL;
  if (weights != NULL) {
    *weights++ = '\0';
    sharpen_text = strchr(weights, '\n');
    if (sharpen_text != NULL) *sharpen_text++ = '\0';
  }
  chr_rgb rgb[CHR_QUERY_MAX_COLORS];
  chr_lab lab[CHR_QUERY_MAX_COLORS];
  double w[CHR_QUERY_MAX_COLORS];
  int n = 0, nw = 0;
  chr_error err;
  chr_qhist q;
  if (chr_colors_parse(text, rgb, CHR_QUERY_MAX_COLORS, &n, &err) == CHR_OK) {
    for (int i = 0; i < n; ++i) lab[i] = chr_rgb_to_lab(rgb[i]);
    int have_weights = weights != NULL &&
                       chr_weights_parse(weights, w, CHR_QUERY_MAX_COLORS, &nw, &err) == CHR_OK &&
                       nw == n;
    double sharpen = sharpen_text != NULL ? strtod(sharpen_text, NULL) : 1.0;
    chr_qhist_build(lab, have_weights ? w : NULL, n, sharpen, &q, &err);
  }
  free(text);
  return 0;
}
