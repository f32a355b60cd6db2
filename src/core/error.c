#include "chromatica/error.h"

#include <stdarg.h>
#include <stdio.h>

void chr_error_clear(chr_error *err) {
  if (err == NULL) return;
  err->code = CHR_OK;
  err->message[0] = '\0';
}

chr_status chr_error_set(chr_error *err, chr_status code, const char *fmt, ...) {
  if (err == NULL) return code;
  err->code = code;
  va_list args;
  va_start(args, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, args);
  va_end(args);
  return code;
}

const char *chr_status_name(chr_status code) {
  switch (code) {
    case CHR_OK:
      return "ok";
    case CHR_EINVAL:
      return "invalid input";
    case CHR_ENOMEM:
      return "out of memory";
    case CHR_EIO:
      return "i/o error";
    case CHR_EFORMAT:
      return "bad file format";
    case CHR_EMPI:
      return "MPI error";
    case CHR_EUNSUPPORTED:
      return "unsupported";
  }
  return "unknown error";
}
