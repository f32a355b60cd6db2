/* Synthetic images: splitmix64 seeds a xoshiro256** generator from (seed, index), so image i
 * never depends on which rank or in which order it is made. */
#include "chromatica/synth.h"

#include <math.h>
#include <string.h>

#define SYNTH_PIXELS 256
#define SYNTH_MAX_BLOBS 4

typedef struct {
  uint64_t s[4];
} synth_rng;

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(synth_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* Uniform in [0, 1). */
static double rng_uniform(synth_rng *r) {
  return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n), n small. */
static int rng_below(synth_rng *r, int n) {
  return (int)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Standard normal by Box-Muller; one of the pair is dropped to keep the stream simple. */
static double rng_gauss(synth_rng *r) {
  double u1 = 1.0 - rng_uniform(r); /* (0, 1]: log is finite */
  double u2 = rng_uniform(r);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

static void rng_seed(synth_rng *r, uint64_t seed, int64_t index) {
  uint64_t state = seed ^ ((uint64_t)index * 0x9E3779B97F4A7C15ull);
  for (int i = 0; i < 4; ++i) r->s[i] = splitmix64(&state);
}

typedef struct {
  chr_rgb rgb;
  chr_lab lab;
  double weight;
  double sd;
  int pixels;
} synth_blob;

/* Splits SYNTH_PIXELS over the blobs by weight (largest remainder, ties to the lower index). */
static void split_pixels(synth_blob *blobs, int n) {
  double remainder[SYNTH_MAX_BLOBS];
  int used = 0;
  for (int i = 0; i < n; ++i) {
    double exact = blobs[i].weight * SYNTH_PIXELS;
    blobs[i].pixels = (int)floor(exact);
    remainder[i] = exact - blobs[i].pixels;
    used += blobs[i].pixels;
  }
  for (; used < SYNTH_PIXELS; ++used) {
    int best = 0;
    for (int i = 1; i < n; ++i)
      if (remainder[i] > remainder[best]) best = i;
    blobs[best].pixels++;
    remainder[best] = -1.0;
  }
}

void chr_synth_image_make(uint64_t seed, int64_t index, chr_image_row *out) {
  synth_rng rng;
  rng_seed(&rng, seed, index);
  synth_blob blobs[SYNTH_MAX_BLOBS];
  int n = 1 + rng_below(&rng, SYNTH_MAX_BLOBS);
  double total = 0.0;
  for (int i = 0; i < n; ++i) {
    uint64_t bits = rng_next(&rng);
    blobs[i].rgb.r = (uint8_t)(bits & 0xff);
    blobs[i].rgb.g = (uint8_t)((bits >> 8) & 0xff);
    blobs[i].rgb.b = (uint8_t)((bits >> 16) & 0xff);
    blobs[i].lab = chr_rgb_to_lab(blobs[i].rgb);
    blobs[i].weight = 0.2 + rng_uniform(&rng); /* >= 0.2 so no blob is vanishingly small */
    blobs[i].sd = 2.0 + 6.0 * rng_uniform(&rng);
    total += blobs[i].weight;
  }
  for (int i = 0; i < n; ++i) blobs[i].weight /= total;
  /* Heaviest first; insertion sort is stable, so equal weights keep their drawing order. */
  for (int i = 1; i < n; ++i) {
    synth_blob key = blobs[i];
    int j = i - 1;
    for (; j >= 0 && blobs[j].weight < key.weight; --j) blobs[j + 1] = blobs[j];
    blobs[j + 1] = key;
  }
  split_pixels(blobs, n);

  double mass[CHR_BINS];
  memset(mass, 0, sizeof mass);
  for (int i = 0; i < n; ++i) {
    for (int p = 0; p < blobs[i].pixels; ++p) {
      chr_lab pixel = {blobs[i].lab.l + blobs[i].sd * rng_gauss(&rng),
                       blobs[i].lab.a + blobs[i].sd * rng_gauss(&rng),
                       blobs[i].lab.b + blobs[i].sd * rng_gauss(&rng)};
      chr_grid_spread spread;
      chr_grid_assign(pixel, &spread);
      for (int k = 0; k < 8; ++k) mass[spread.bin[k]] += spread.weight[k];
    }
  }
  double sum = 0.0;
  for (int b = 0; b < CHR_BINS; ++b) sum += mass[b];
  for (int b = 0; b < CHR_BINS; ++b) out->histogram[b] = (float)(mass[b] / sum);

  for (int i = 0; i < CHR_PALETTE_MAX; ++i) {
    chr_rgb black = {0, 0, 0};
    out->palette[i] = i < n ? blobs[i].rgb : black;
    out->palette_weight[i] = i < n ? (float)blobs[i].weight : 0.0f;
  }
}
