/* UTF-8 checks and the one escaping that keeps every text Chromatica writes valid UTF-8.
 *
 * Dataset ids and paths, file names and batch strings are arbitrary bytes; JSON (and any
 * future HTML report) must be UTF-8. Every byte that does not belong to a UTF-8 character is
 * written as the four characters \xNN (two lower-case hex digits), the form Python's
 * "backslashreplace" error handler gives, so b'caf\xe9' appears as caf\xe9. The escaping is done
 * when a text is written, never when it is read: comparisons (the duplicate-id check) see the
 * true bytes. An id that already holds the characters \xe9 cannot be told apart from one
 * holding the byte 0xE9 once written; backslashes are not escaped, so that paths and ids that
 * are valid UTF-8 are written exactly as they are.
 * UTF-8 here is RFC 3629: no overlong forms, no surrogates (U+D800-U+DFFF), nothing above
 * U+10FFFF, no truncated sequences. Pure functions; not collective; thread-safe. */
#ifndef CHROMATICA_UTF8_H
#define CHROMATICA_UTF8_H

#include <stddef.h>

/* Length (1 to 4) of the UTF-8 character starting at p (avail >= 1 bytes readable), or 0 when
 * the bytes there do not start one. */
size_t chr_utf8_char(const char *p, size_t avail);

/* 1 if the len bytes at s are all UTF-8 characters, else 0. */
int chr_utf8_valid(const char *s, size_t len);

/* Writes the len bytes at in to out, each byte that is not part of a UTF-8 character as \xNN;
 * when controls is set, control characters (U+0000-U+001F and U+007F) too (for one-line
 * messages). Writes whole characters or escapes only while the output stays within max bytes,
 * then a NUL: out must hold max + 1 bytes. Returns how many bytes of in were written (len when
 * all fitted). The output is always valid UTF-8. */
size_t chr_utf8_escape(const char *in, size_t len, int controls, char *out, size_t max);

/* A new NUL-terminated copy of s (NUL-terminated) with the bytes that are not UTF-8 written as
 * \xNN (control characters kept). NULL when out of memory; the caller frees it with free(). */
char *chr_utf8_sanitize(const char *s);

#endif
