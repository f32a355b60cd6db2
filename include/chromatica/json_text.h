/* String values for the JSON that Chromatica writes (search and eval reports, the build log,
 * `info --json`, `histogram`). cJSON copies string bytes as they are, so an id or path that is
 * not UTF-8 would make the whole document unreadable (Python's json.load refuses it). These
 * helpers write every string through chr_utf8_sanitize (see utf8.h): bytes that are not UTF-8
 * appear as \xNN, everything else unchanged. Use them for every string that can hold text
 * from outside (ids, paths, file names, messages quoting them). Not collective. */
#ifndef CHROMATICA_JSON_TEXT_H
#define CHROMATICA_JSON_TEXT_H

#include <cjson/cJSON.h>

/* A new cJSON string holding v (NULL: the empty string) made UTF-8; NULL when out of memory.
 * The caller owns it until it is added to an array or object. */
cJSON *chr_json_text(const char *v);

/* Adds key: v (made UTF-8) to object o; 1 on success, 0 when out of memory. */
int chr_json_add_text(cJSON *o, const char *key, const char *v);

/* Appends v (made UTF-8) to array a; 1 on success, 0 when out of memory. */
int chr_json_push_text(cJSON *a, const char *v);

/* Prints json, formatted, and a newline on stdout, and deletes it (NULL, from a failed build,
 * is accepted). Returns the exit code of a command that prints it: 0, or 1 after telling stderr
 * "<who>: out of memory". */
int chr_json_print(cJSON *json, const char *who);

#endif
