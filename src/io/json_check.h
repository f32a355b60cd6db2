/* A strict RFC 8259 check of a JSON text, run before cJSON reads it. cJSON is lenient: it
 * ignores text after the value, reads 010 as 10, keeps raw control characters in strings,
 * takes any byte below 0x21 for white space, cuts a string at an escaped \u0000, keeps bytes
 * that are not UTF-8, and calls its nesting limit a plain parse error. This check refuses
 * what is not JSON with a message naming the problem and its byte offset, and lists the flaws
 * that spoil a single string (findings) so that the caller can fail just the part holding it.
 * Private to src/io. No MPI calls; not collective. */
#ifndef CHR_IO_JSON_CHECK_H
#define CHR_IO_JSON_CHECK_H

#include <stddef.h>

#include "chromatica/error.h"

/* Arrays and objects nested deeper than this are refused. Equal to cJSON's
 * CJSON_NESTING_LIMIT, so a text that passes is never refused by cJSON for its depth. */
#define CHR_JSON_DEPTH_MAX 1000
#define CHR_JSON_SHOWN_MAX 64 /* a string shown in a message: 60 bytes, then "..." */
#define CHR_JSON_WHERE_MAX 128

typedef enum {
  CHR_JSON_HAS_NUL, /* a string or key holds the escape \u0000 (cJSON would cut it there) */
  CHR_JSON_BAD_UTF8 /* a string (not a key) holds bytes that are not UTF-8 */
} chr_json_flaw;

typedef struct {
  chr_json_flaw flaw;
  int group;     /* the element of the group array it lies in (see chr_json_check_run), or -1 */
  int in_key;    /* 1: the flaw is in an object key, and where is the object's path */
  size_t offset; /* byte offset of the string's opening quote */
  /* path, relative to the group element when there is one: "id", "colors[0]", "options.k" */
  char where[CHR_JSON_WHERE_MAX];
  char shown[CHR_JSON_SHOWN_MAX]; /* the string as written, through chr_json_show */
} chr_json_finding;

typedef struct chr_json_check chr_json_check;

/* Checks text (len bytes, need not be NUL-terminated; a leading UTF-8 byte-order mark is
 * skipped, as cJSON does). group_key names the array of the root object whose elements are
 * read independently (a batch's "queries"): a finding inside its element i has group i.
 * Only the first finding of each group and the first outside every group are kept. On
 * success the caller owns *out; on failure *out is NULL and err names the problem and its
 * byte offset ("not valid JSON (... near byte N)", "nested deeper than 1000 levels ..."). */
chr_status chr_json_check_run(const char *text, size_t len, const char *group_key,
                              chr_json_check **out, chr_error *err);

/* Frees the check; sets *p = NULL; accepts NULL. */
void chr_json_check_destroy(chr_json_check **p);

/* The first finding in group element g, or NULL. Owned by the check. */
const chr_json_finding *chr_json_check_group_finding(const chr_json_check *c, int g);

/* The first finding outside every group element, or NULL. Owned by the check. */
const chr_json_finding *chr_json_check_loose_finding(const chr_json_check *c);

/* Numbers too large for a double (1e999, which cJSON reads as infinity), in document order:
 * how many, and where the i-th is written in the checked text. */
size_t chr_json_check_overflow_count(const chr_json_check *c);
void chr_json_check_overflow(const chr_json_check *c, size_t i, size_t *offset, size_t *length);

/* Writes len bytes to out for a message: UTF-8 characters as they are, control characters
 * and bytes that are not UTF-8 as \xNN; if that exceeds max bytes, it is cut at a character
 * boundary and "..." follows. out must hold max + 4 bytes. */
void chr_json_show(const char *bytes, size_t len, size_t max, char *out);

#endif
