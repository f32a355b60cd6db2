/* libFuzzer harness for the strict JSON check (src/io/json_check.c), against cJSON: any bytes
 * must give a clean verdict, never a crash, a leak or undefined behaviour; and whatever the
 * check accepts, cJSON must read too (so the batch never falls back to cJSON's own errors), with
 * as many infinite numbers as the check listed (so values are named as written). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/io/json_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count_infinite(const cJSON *item) {
  size_t n = 0;
  for (; item != NULL; item = item->next)
    n += (cJSON_IsNumber(item) && isinf(item->valuedouble)) + count_infinite(item->child);
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  chr_json_check *check = NULL;
  chr_error err;
  if (chr_json_check_run((const char *)data, size, "queries", &check, &err) != CHR_OK) return 0;
  size_t bom = size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0; /* as batch.c */
  cJSON *root = cJSON_ParseWithLength((const char *)data + bom, size - bom);
  if (root == NULL) abort(); /* valid JSON that cJSON refuses */
  if (count_infinite(root) != chr_json_check_overflow_count(check)) abort();
  for (int g = 0; g < 4; ++g) (void)chr_json_check_group_finding(check, g);
  (void)chr_json_check_loose_finding(check);
  cJSON_Delete(root);
  chr_json_check_destroy(&check);
  return 0;
}
