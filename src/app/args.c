#include "args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int chr_args_exit_code(int parsed, int rank, const char *usage) {
  if (parsed == 1 && rank == 0) fputs(usage, stdout);
  return parsed == 0 ? -1 : parsed == 1 ? 0 : 2;
}

int chr_args_whole(const char *text, long long lo, long long hi, long long *out) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0 || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}
