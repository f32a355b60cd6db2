#include "chromatica/json_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/utf8.h"

cJSON *chr_json_text(const char *v) {
  if (v == NULL) v = "";
  if (chr_utf8_valid(v, strlen(v))) return cJSON_CreateString(v); /* the usual case: no copy */
  char *clean = chr_utf8_sanitize(v);
  cJSON *item = clean != NULL ? cJSON_CreateString(clean) : NULL;
  free(clean);
  return item;
}

int chr_json_add_text(cJSON *o, const char *key, const char *v) {
  cJSON *item = chr_json_text(v);
  if (item == NULL) return 0;
  if (!cJSON_AddItemToObject(o, key, item)) {
    cJSON_Delete(item);
    return 0;
  }
  return 1;
}

int chr_json_push_text(cJSON *a, const char *v) {
  cJSON *item = chr_json_text(v);
  if (item == NULL) return 0;
  if (!cJSON_AddItemToArray(a, item)) {
    cJSON_Delete(item);
    return 0;
  }
  return 1;
}

int chr_json_print(cJSON *json, const char *who) {
  char *text = json ? cJSON_Print(json) : NULL;
  cJSON_Delete(json);
  if (text == NULL) {
    fprintf(stderr, "%s: out of memory\n", who);
    return 1;
  }
  puts(text);
  free(text);
  return 0;
}
