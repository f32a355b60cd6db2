/* Seeded splitmix64 for the unit tests: the same numbers on every run and machine. */
#ifndef CHROMATICA_TEST_RANDOM_H
#define CHROMATICA_TEST_RANDOM_H

#include <stdint.h>

static inline uint64_t next(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double uniform(uint64_t *state) {
  return (double)(next(state) >> 11) / 9007199254740992.0;
}

#endif
