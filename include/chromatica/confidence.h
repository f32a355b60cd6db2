/* What a result's `confidence` means (issue 16): a number in [0, 1] read off a fixed scale of
 * the distance itself, so it is the same whatever the decomposition, the batch or the rest of
 * the collection. Not collective. */
#ifndef CHROMATICA_CONFIDENCE_H
#define CHROMATICA_CONFIDENCE_H

/* The scale of the transport metrics (EMD, Sinkhorn; distances in CIE76 ΔE): a logistic in the
 * distance, 1 at distance 0, one half at CHR_CONFIDENCE_DE50 and falling by a factor of about
 * e per CHR_CONFIDENCE_DE_WIDTH beyond it. README, "Decisions", gives the measurement on
 * openclipart that placed them. */
#define CHR_CONFIDENCE_DE50 12.0
#define CHR_CONFIDENCE_DE_WIDTH 3.0

/* The confidence of a transport distance d (ΔE, >= 0): (1 + e^(-D50/w)) / (1 + e^((d-D50)/w)).
 * 1 at d = 0, 0.5 near D50, below 0.02 from D50 + 4w on; NaN or negative d gives 0. */
double chr_confidence_transport(double d);

/* The confidence of fast mode, whose score is Hellinger's 2 - 2*BC: the Bhattacharyya
 * coefficient BC = 1 - ann_score/2 itself (1: identical histograms, 0: disjoint supports),
 * clamped to [0, 1]. */
double chr_confidence_fast(double ann_score);

#endif
