#include "chromatica/confidence.h"

#include <math.h>

double chr_confidence_transport(double d) {
  if (!(d >= 0.0)) return 0.0;
  const double w = CHR_CONFIDENCE_DE_WIDTH;
  /* Scaled so a distance of 0 reads exactly 1; exp overflow for huge d gives 0, as it should. */
  return (1.0 + exp(-CHR_CONFIDENCE_DE50 / w)) / (1.0 + exp((d - CHR_CONFIDENCE_DE50) / w));
}

double chr_confidence_fast(double ann_score) {
  double bc = 1.0 - ann_score / 2.0;
  return bc < 0.0 ? 0.0 : bc > 1.0 ? 1.0 : bc;
}
