#include "chromatica/json_text.h"

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
