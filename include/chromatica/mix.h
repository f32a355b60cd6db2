/* A 64-bit mixing step shared by the checksums and hashes of rows and ids. Pure. */
#ifndef CHROMATICA_MIX_H
#define CHROMATICA_MIX_H

#include <stdint.h>

/* splitmix64's finaliser: every input bit reaches every output bit. The stored checksums
 * (README, "chromatica index") are defined with it, so it must never change. */
static inline uint64_t chr_mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

#endif
