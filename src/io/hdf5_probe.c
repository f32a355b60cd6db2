/* Reading an HDF5 superblock by hand, to tell a truncated file from one that is not HDF5
 * (HDF5 file format specification, superblock versions 0-3). */
#define _POSIX_C_SOURCE 200809L
#include "hdf5_probe.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static uint64_t le_bytes(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

/* The end-of-file address a superblock records, from its first n bytes; 0 when they hold no
 * readable one. Layouts: HDF5 file format specification, superblock versions 0-1 and 2-3.
 * HDF5 itself compares this address with the file's size (a user block included), and so do
 * we. */
static uint64_t superblock_end(const uint8_t *b, size_t n) {
  int version = b[8];
  int offsets = version <= 1 ? b[13] : b[9];
  size_t base_at = version == 0 ? 24 : version == 1 ? 28 : 12; /* base, then 2 more addresses */
  if (version > 3 || (offsets != 2 && offsets != 4 && offsets != 8) ||
      base_at + 3 * (size_t)offsets > n)
    return 0;
  uint64_t undefined = offsets == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * offsets)) - 1;
  uint64_t end = le_bytes(b + base_at + 2 * (size_t)offsets, offsets);
  return end == undefined ? 0 : end;
}

/* Looks for the HDF5 signature where the library does (byte 0, 512, 1024, 2048, ...) and
 * returns the end of file its superblock records, or 0 when there is none. */
static uint64_t recorded_end(FILE *f, uint64_t size) {
  static const uint8_t signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  uint8_t b[64];
  for (uint64_t at = 0; at + sizeof signature <= size && at <= LONG_MAX;
       at = at == 0 ? 512 : 2 * at) {
    if (fseek(f, (long)at, SEEK_SET) != 0) return 0;
    size_t got = fread(b, 1, sizeof b, f);
    if (got >= sizeof signature && memcmp(b, signature, sizeof signature) == 0)
      return superblock_end(b, got);
  }
  return 0;
}

chr_status chr_hdf5_explain_open_failure(const char *path, chr_error *err) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return chr_error_set(err, CHR_EIO, "cannot open file (expected an existing, readable file)");
  struct stat info;
  uint64_t size = 0, end = 0;
  if (fstat(fileno(f), &info) == 0) {
    size = (uint64_t)info.st_size;
    end = recorded_end(f, size);
  }
  fclose(f);
  if (end > size)
    return chr_error_set(err, CHR_EFORMAT, "truncated HDF5 file (%llu of %llu bytes)",
                         (unsigned long long)size, (unsigned long long)end);
  return chr_error_set(err, CHR_EFORMAT, "not an HDF5 file (expected an HDF5 dataset)");
}
