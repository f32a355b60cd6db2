/* Status codes and the error record every fallible function fills in.
 * The caller owns the chr_error; a function that fails writes one message naming the
 * offending value and what was expected, and returns the same code it stored. */
#ifndef CHROMATICA_ERROR_H
#define CHROMATICA_ERROR_H

typedef enum {
  CHR_OK = 0,
  CHR_EINVAL,      /* bad argument or bad user input */
  CHR_ENOMEM,      /* allocation failed */
  CHR_EIO,         /* file could not be opened, read or written */
  CHR_EFORMAT,     /* a file does not match the spec's format */
  CHR_EMPI,        /* an MPI call failed or ranks disagreed */
  CHR_EUNSUPPORTED /* a valid request this build cannot serve */
} chr_status;

#define CHR_ERROR_MESSAGE_MAX 512

typedef struct {
  chr_status code;
  char message[CHR_ERROR_MESSAGE_MAX];
} chr_error;

/* Resets err to CHR_OK with an empty message. Accepts NULL. Not collective. */
void chr_error_clear(chr_error *err);

/* Stores code and a printf-formatted message in err (if err is not NULL) and returns code. */
chr_status chr_error_set(chr_error *err, chr_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A short constant name for a status ("invalid input", "out of memory", ...). */
const char *chr_status_name(chr_status code);

#endif
