#include "chromatica/build_log.h"

#include <cjson/cJSON.h>

#include "chromatica/json_text.h"
#include "chromatica/textfile.h"

static int add_num(cJSON *o, const char *key, double value) {
  return cJSON_AddNumberToObject(o, key, value) != NULL;
}

static cJSON *summary_json(const chr_build_summary *s) {
  cJSON *root = cJSON_CreateObject();
  if (root == NULL) return NULL;
  double seconds = s->build_ms / 1000.0;
  cJSON *inputs = cJSON_AddArrayToObject(root, "inputs");
  int ok = inputs != NULL && chr_json_add_text(root, "output", s->output);
  for (int i = 0; ok && i < s->n_inputs; ++i) {
    ok = chr_json_push_text(inputs, s->inputs[i]);
  }
  ok = ok && cJSON_AddBoolToObject(root, "recursive", s->recursive) != NULL &&
       add_num(root, "max_side", s->max_side) &&
       add_num(root, "max_pixels", (double)s->max_pixels) && add_num(root, "ranks", s->ranks) &&
       add_num(root, "threads_per_rank", s->threads_per_rank) &&
       add_num(root, "files_found", (double)s->files_found) &&
       add_num(root, "images_built", (double)s->images_built) &&
       add_num(root, "files_skipped", (double)s->n_skipped);
  cJSON *ignored = ok ? cJSON_AddObjectToObject(root, "ignored") : NULL;
  ok = ignored != NULL && add_num(ignored, "symbolic_links", (double)s->ignored_links) &&
       add_num(ignored, "hidden", (double)s->ignored_hidden) &&
       add_num(ignored, "other", (double)s->ignored_other) &&
       add_num(ignored, "duplicates", (double)s->ignored_duplicates);
  if (ok && s->error != NULL) ok = cJSON_AddStringToObject(root, "error", s->error) != NULL;
  cJSON *timings = ok ? cJSON_AddObjectToObject(root, "timings_ms") : NULL;
  ok = timings != NULL && add_num(timings, "list", s->list_ms) &&
       add_num(timings, "build", s->build_ms) && add_num(timings, "total", s->total_ms) &&
       add_num(root, "images_per_second", seconds > 0.0 ? (double)s->images_built / seconds : 0.0);
  cJSON *skipped = ok ? cJSON_AddArrayToObject(root, "skipped") : NULL;
  ok = skipped != NULL;
  for (int64_t i = 0; ok && i < s->n_skipped; ++i) {
    cJSON *entry = cJSON_CreateObject();
    ok = entry != NULL && cJSON_AddItemToArray(skipped, entry) &&
         chr_json_add_text(entry, "path", s->skipped[i].path) &&
         chr_json_add_text(entry, "reason", s->skipped[i].reason);
  }
  if (!ok) {
    cJSON_Delete(root);
    return NULL;
  }
  return root;
}

chr_status chr_build_log_write(const char *path, const chr_build_summary *s, chr_error *err) {
  cJSON *root = summary_json(s);
  char *text = root ? cJSON_Print(root) : NULL;
  chr_status st = text == NULL ? chr_error_set(err, CHR_ENOMEM,
                                               "build log %s: out of memory building JSON", path)
                               : chr_text_write_atomic(path, text, "build log", err);
  cJSON_free(text);
  cJSON_Delete(root);
  return st;
}
