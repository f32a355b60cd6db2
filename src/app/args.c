#include "args.h"

#include <errno.h>
#include <stdlib.h>

int chr_args_whole(const char *text, long long lo, long long hi, long long *out) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0 || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}
