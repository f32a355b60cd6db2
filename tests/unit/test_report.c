#define _POSIX_C_SOURCE 200809L
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chromatica/confidence.h"
#include "chromatica/grid.h"
#include "chromatica/report.h"
#include "chromatica/textfile.h"

static char *const ids[3] = {"img0", "img1", "img2"};
static char *const paths[3] = {"a/0.jpg", "a/1.jpg", "a/2.jpg"};

static chr_batch *parse_ok(const char *text) {
  chr_batch *b = NULL;
  chr_error err;
  chr_error_clear(&err);
  chr_status s = chr_batch_parse(text, strlen(text), &b, &err);
  if (s != CHR_OK) fprintf(stderr, "unexpected: %s\n", err.message);
  assert_int_equal(s, CHR_OK);
  return b;
}

static chr_run_info run_info(void) {
  chr_run_info run = {0};
  run.version = "0.1.0";
  run.ranks = 2;
  run.threads_per_rank = 1;
  run.query_groups = 1;
  run.shards = 2;
  run.io_mode = "scatter";
  run.dataset_path = "d.h5";
  run.images = 3;
  run.read_ms = 1.5;
  run.search_ms = 25.0;
  run.total_ms = 40.0;
  return run;
}

static char *make_dir(void) {
  char *dir = malloc(64);
  snprintf(dir, 64, "/tmp/chr_report_XXXXXX");
  assert_non_null(mkdtemp(dir));
  return dir;
}

static int entries(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
  closedir(d);
  return n;
}

static cJSON *read_json(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  cJSON *root = cJSON_Parse(buf);
  assert_non_null(root);
  return root;
}

static double num(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  assert_true(cJSON_IsNumber(v));
  return v->valuedouble;
}

static const char *str(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  assert_true(cJSON_IsString(v));
  return v->valuestring;
}

static const cJSON *item(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  assert_non_null(v);
  return v;
}

/* q0 sinkhorn [0, 0.020] 20 ms; q1 invalid; q2 fast [0.004, 0.013] 9 ms (finishes first). */
static void fake_results(chr_query_result r[3]) {
  memset(r, 0, sizeof(chr_query_result) * 3);
  for (int i = 0; i < 3; i++) r[i].query_index = i;
  r[0] = (chr_query_result){.query_index = 0,
                            .ok = 1,
                            .candidates = 3,
                            .count = 2,
                            .start_s = 0.0,
                            .end_s = 0.020,
                            .ann_ms = 5,
                            .rerank_ms = 14,
                            .total_ms = 20,
                            .sinkhorn_solved = 3,
                            .sinkhorn_unconverged = 1,
                            .sinkhorn_error_max = 2.5e-3};
  r[0].hits[0] = (chr_result_hit){1, 3.92, 0.41, {100, -1, 7, -1, -1}};
  r[0].hits[1] = (chr_result_hit){0, 5.0, 0.5, {-1, -1, -1, -1, -1}};
  r[1].ok = 1; /* the batch says it failed; the writer must believe the batch */
  r[2] = (chr_query_result){.query_index = 2,
                            .ok = 1,
                            .candidates = 1,
                            .count = 1,
                            .start_s = 0.004,
                            .end_s = 0.013,
                            .ann_ms = 9,
                            .total_ms = 9};
  r[2].hits[0] = (chr_result_hit){2, 0.41, 0.41, {5, -1, -1, -1, -1}};
}

static const char *batch_text =
    "{\"queries\": [{\"id\": \"a\", \"colors\": \"ea6a81,f6d727\", \"weights\": \"1,3\", \"k\": 2,"
    " \"metric\": \"sinkhorn\"},"
    "{\"id\": \"bad\", \"colors\": \"GG0000\"},"
    "{\"id\": \"c\", \"colors\": [\"#0000FF\"], \"fast_mode\": true, \"metric\": \"emd\", \"k\": "
    "1}]}";

static void full_report(void **state) {
  (void)state;
  chr_batch *b = parse_ok(batch_text);
  chr_query_result r[3];
  fake_results(r);
  chr_run_info run = run_info();
  chr_rank_stats ranks[2] = {{0, 0, 0, 0, 2, 2, 1.0, 2.0, 3.0, 10.5, 1},
                             {1, 0, 1, 2, 1, 2, 1.1, 2.1, 3.1, 11.5, 2}};
  chr_rgb pal[15] = {{0}};
  float pw[15] = {0};
  pal[5] = (chr_rgb){255, 0, 0};
  pw[5] = 0.5f;
  pal[6] = (chr_rgb){1, 2, 3}; /* weight 0: unused */
  pal[7] = (chr_rgb){0, 255, 0};
  pw[7] = 0.3f;
  char *warn[1] = {"options.foo"};
  char *dir = make_dir(), out[128];
  snprintf(out, sizeof out, "%s/r.json", dir);
  chr_error err;
  chr_error_clear(&err);
  chr_status s = chr_report_write(out, b, r, ids, paths, pal, pw, &run, ranks, 2, warn, 1, &err);
  if (s != CHR_OK) fprintf(stderr, "%s\n", err.message);
  assert_int_equal(s, CHR_OK);
  assert_int_equal(entries(dir), 1);

  cJSON *root = read_json(out);
  assert_int_equal((int)num(root, "total_queries"), 3);
  assert_int_equal((int)num(root, "successful_queries"), 2);
  assert_int_equal((int)num(root, "failed_queries"), 1);
  assert_true(num(root, "total_time_ms") == 40.0);
  const cJSON *res = item(root, "results");
  assert_int_equal(cJSON_GetArraySize(res), 3);
  const cJSON *q0 = cJSON_GetArrayItem(res, 0), *q1 = cJSON_GetArrayItem(res, 1),
              *q2 = cJSON_GetArrayItem(res, 2);
  assert_string_equal(str(q0, "query_id"), "a");
  assert_true(cJSON_IsTrue(item(q0, "success")));
  const cJSON *qc = item(item(q0, "query"), "colors");
  assert_string_equal(cJSON_GetArrayItem(qc, 0)->valuestring, "#ea6a81");
  assert_string_equal(cJSON_GetArrayItem(qc, 1)->valuestring, "#f6d727");
  assert_true(cJSON_GetArrayItem(item(item(q0, "query"), "weights"), 1)->valuedouble == 0.75);
  assert_int_equal((int)num(q0, "results_count"), 2);
  const cJSON *h0 = cJSON_GetArrayItem(item(q0, "results"), 0);
  assert_int_equal((int)num(h0, "rank"), 1);
  assert_string_equal(str(h0, "image_id"), "img1");
  assert_string_equal(str(h0, "file_path"), "a/1.jpg");
  assert_true(num(h0, "distance") == 3.92);
  assert_true(fabs(num(h0, "confidence") - chr_confidence_transport(3.92)) < 1e-12);
  const cJSON *dc = item(h0, "dominant_colors");
  assert_int_equal(cJSON_GetArraySize(dc), 2);
  assert_string_equal(cJSON_GetArrayItem(dc, 0)->valuestring, "#ff0000");
  assert_string_equal(cJSON_GetArrayItem(dc, 1)->valuestring, "#00ff00");
  assert_int_equal(
      cJSON_GetArraySize(item(cJSON_GetArrayItem(item(q0, "results"), 1), "dominant_colors")), 0);
  const cJSON *meta = item(q0, "metadata");
  assert_string_equal(str(meta, "metric"), "sinkhorn");
  assert_true(cJSON_IsFalse(item(meta, "fast_mode")));
  assert_int_equal((int)num(meta, "index_size"), 3);
  assert_int_equal((int)num(meta, "candidates"), 3);
  assert_true(num(meta, "rerank_time_ms") == 14.0);
  assert_true(cJSON_IsFalse(item(meta, "sinkhorn_converged")));
  assert_int_equal((int)num(meta, "sinkhorn_unconverged"), 1);
  assert_true(num(meta, "sinkhorn_marginal_error") == 2.5e-3);

  assert_string_equal(str(q1, "query_id"), "bad");
  assert_true(cJSON_IsFalse(item(q1, "success")));
  assert_non_null(strstr(str(q1, "error"), "colors[0] 'GG0000'"));
  assert_int_equal(cJSON_GetArraySize(item(q1, "results")), 0);
  assert_int_equal((int)num(q1, "results_count"), 0);

  assert_string_equal(str(q2, "query_id"), "c");
  const cJSON *m2 = item(q2, "metadata");
  assert_string_equal(str(m2, "metric"), "hellinger"); /* fast mode: no EMD ran */
  assert_true(cJSON_IsTrue(item(m2, "fast_mode")));
  assert_null(cJSON_GetObjectItemCaseSensitive(m2, "sinkhorn_converged"));
  const cJSON *h2 = cJSON_GetArrayItem(item(q2, "results"), 0);
  assert_true(fabs(num(h2, "confidence") - (1.0 - 0.41 / 2)) < 1e-12);

  const cJSON *perf = item(root, "performance_stats");
  assert_int_equal((int)num(perf, "total_searches"), 2);
  assert_int_equal((int)num(perf, "concurrent_searches"), 0);
  assert_int_equal((int)num(perf, "max_concurrent_searches"), 2);
  assert_true(fabs(num(perf, "average_search_time") - 0.0145) < 1e-12);
  assert_true(num(perf, "p50_search_time") == 0.009);
  assert_true(num(perf, "p95_search_time") == 0.020);
  assert_true(num(perf, "p99_search_time") == 0.020);
  assert_true(fabs(num(perf, "queries_per_second") - 80.0) < 1e-9);
  const cJSON *recent = item(perf, "recent_search_times");
  assert_int_equal(cJSON_GetArraySize(recent), 2);
  assert_true(cJSON_GetArrayItem(recent, 0)->valuedouble == 0.009);
  assert_true(cJSON_GetArrayItem(recent, 1)->valuedouble == 0.020);

  const cJSON *health = item(root, "health");
  assert_string_equal(str(health, "status"), "healthy");
  assert_string_equal(str(item(health, "components"), "search_index"), "exact");
  const cJSON *rj = item(root, "run");
  assert_string_equal(str(rj, "io_mode"), "scatter");
  assert_int_equal((int)num(item(rj, "dataset"), "images"), 3);
  assert_true(num(item(rj, "timings_ms"), "search") == 25.0);
  const cJSON *pr = cJSON_GetArrayItem(item(rj, "per_rank"), 1);
  assert_int_equal((int)num(pr, "first_row"), 2);
  assert_true(num(pr, "peak_rss_mb") == 11.5);
  assert_string_equal(cJSON_GetArrayItem(item(root, "warnings"), 0)->valuestring, "options.foo");
  cJSON_Delete(root);

  /* Without palettes or paths: bin centres, no file_path. Overwrites the same file. */
  assert_int_equal(chr_report_write(out, b, r, ids, NULL, NULL, NULL, &run, NULL, 0, NULL, 0, &err),
                   CHR_OK);
  assert_int_equal(entries(dir), 1);
  root = read_json(out);
  h0 = cJSON_GetArrayItem(item(cJSON_GetArrayItem(item(root, "results"), 0), "results"), 0);
  assert_null(cJSON_GetObjectItemCaseSensitive(h0, "file_path"));
  dc = item(h0, "dominant_colors");
  assert_int_equal(cJSON_GetArraySize(dc), 2);
  char hex[8];
  chr_rgb_to_hex(chr_lab_to_rgb(chr_grid_bin_centre(100)), hex);
  assert_string_equal(cJSON_GetArrayItem(dc, 0)->valuestring, hex);
  chr_rgb_to_hex(chr_lab_to_rgb(chr_grid_bin_centre(7)), hex);
  assert_string_equal(cJSON_GetArrayItem(dc, 1)->valuestring, hex);
  assert_int_equal(cJSON_GetArraySize(item(root, "warnings")), 0);
  cJSON_Delete(root);

  remove(out);
  rmdir(dir);
  free(dir);
  chr_batch_destroy(&b);
}

/* Touching intervals are not concurrent; a failed search result counts as failed. */
static void sweep_ties_and_result_errors(void **state) {
  (void)state;
  chr_batch *b = parse_ok(
      "{\"queries\": [{\"colors\": \"f00\"}, {\"colors\": \"0f0\"}, "
      "{\"colors\": \"00f\"}]}");
  chr_query_result r[3];
  memset(r, 0, sizeof r);
  r[0] = (chr_query_result){.query_index = 0, .ok = 1, .start_s = 0, .end_s = 1, .total_ms = 1000};
  r[1] = (chr_query_result){.query_index = 1, .ok = 1, .start_s = 1, .end_s = 1, .total_ms = 0};
  snprintf(r[2].error, sizeof r[2].error, "search failed");
  chr_run_info run = run_info();
  run.search_ms = 0;
  char *dir = make_dir(), out[128];
  snprintf(out, sizeof out, "%s/r.json", dir);
  chr_error err;
  assert_int_equal(chr_report_write(out, b, r, ids, NULL, NULL, NULL, &run, NULL, 0, NULL, 0, &err),
                   CHR_OK);
  cJSON *root = read_json(out);
  assert_int_equal((int)num(root, "failed_queries"), 1);
  assert_string_equal(str(cJSON_GetArrayItem(item(root, "results"), 2), "error"), "search failed");
  const cJSON *perf = item(root, "performance_stats");
  assert_int_equal((int)num(perf, "max_concurrent_searches"), 1);
  assert_true(num(perf, "queries_per_second") == 0.0);
  /* equal end times: ties by query index */
  const cJSON *recent = item(perf, "recent_search_times");
  assert_true(cJSON_GetArrayItem(recent, 0)->valuedouble == 1.0);
  assert_true(cJSON_GetArrayItem(recent, 1)->valuedouble == 0.0);
  cJSON_Delete(root);
  remove(out);
  rmdir(dir);
  free(dir);
  chr_batch_destroy(&b);
}

/* A hit whose row represents collapsed copies lists their ids, only for a query that collapses;
 * the metadata counts them and the run states the dataset's groups. */
static void duplicates_listed(void **state) {
  (void)state;
  chr_batch *b = parse_ok("{\"queries\": [{\"colors\": \"f00\", \"k\": 2}, "
                          "{\"colors\": \"f00\", \"k\": 2, \"collapse_duplicates\": false}]}");
  chr_query_result r[2];
  memset(r, 0, sizeof r);
  for (int i = 0; i < 2; ++i) {
    r[i] = (chr_query_result){.query_index = i, .ok = 1, .count = 2};
    r[i].hits[0] = (chr_result_hit){.row = 0, .distance = 0.0, .dominant_bin = {-1, -1, -1, -1, -1}};
    r[i].hits[1] = (chr_result_hit){.row = 1, .distance = 5.0, .dominant_bin = {-1, -1, -1, -1, -1}};
  }
  chr_dups dups;
  chr_error err;
  const int64_t row[1] = {2}, rep[1] = {0};
  assert_int_equal(chr_dups_create(row, rep, 1, &dups, &err), CHR_OK);
  chr_run_info run = run_info();
  run.duplicates = &dups;
  char *dir = make_dir(), out[128];
  snprintf(out, sizeof out, "%s/r.json", dir);
  assert_int_equal(chr_report_write(out, b, r, ids, NULL, NULL, NULL, &run, NULL, 0, NULL, 0, &err),
                   CHR_OK);
  cJSON *root = read_json(out);
  const cJSON *q0 = cJSON_GetArrayItem(item(root, "results"), 0);
  const cJSON *q1 = cJSON_GetArrayItem(item(root, "results"), 1);
  const cJSON *h0 = cJSON_GetArrayItem(item(q0, "results"), 0);
  const cJSON *listed = item(h0, "duplicates");
  assert_int_equal(cJSON_GetArraySize(listed), 1);
  assert_string_equal(cJSON_GetArrayItem(listed, 0)->valuestring, ids[2]);
  assert_true(num(h0, "confidence") == 1.0);
  assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(item(q0, "results"), 1),
                                               "duplicates"));
  assert_true(cJSON_IsTrue(item(item(q0, "metadata"), "collapse_duplicates")));
  assert_int_equal((int)num(item(q0, "metadata"), "duplicates_collapsed"), 1);
  assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(item(q1, "results"), 0),
                                               "duplicates"));
  assert_true(cJSON_IsFalse(item(item(q1, "metadata"), "collapse_duplicates")));
  assert_int_equal((int)num(item(q1, "metadata"), "duplicates_collapsed"), 0);
  const cJSON *ds = item(item(root, "run"), "dataset");
  assert_int_equal((int)num(item(ds, "duplicates"), "groups"), 1);
  assert_int_equal((int)num(item(ds, "duplicates"), "images_collapsed"), 1);
  cJSON_Delete(root);
  chr_dups_free(&dups);
  remove(out);
  rmdir(dir);
  free(dir);
  chr_batch_destroy(&b);
}

static void missing_directory_fails(void **state) {
  (void)state;
  chr_batch *b = parse_ok(batch_text);
  chr_query_result r[3];
  fake_results(r);
  chr_run_info run = run_info();
  chr_error err;
  chr_error_clear(&err);
  const char *out = "/no/such/dir/r.json";
  assert_int_equal(chr_report_write(out, b, r, ids, NULL, NULL, NULL, &run, NULL, 0, NULL, 0, &err),
                   CHR_EIO);
  assert_non_null(strstr(err.message, out));
  assert_non_null(strstr(err.message, "No such file or directory"));
  assert_int_equal(access(out, F_OK), -1);

  chr_error_clear(&err);
  assert_int_equal(chr_path_check_writable(out, &err), CHR_EIO);
  assert_string_equal(err.message,
                      "/no/such/dir/r.json: directory '/no/such/dir' cannot be "
                      "written (No such file or directory)");

  char *dir = make_dir(), ok_path[128];
  snprintf(ok_path, sizeof ok_path, "%s/r.json", dir);
  assert_int_equal(chr_path_check_writable(ok_path, &err), CHR_OK);
  assert_int_equal(entries(dir), 0);
  rmdir(dir);
  free(dir);

  /* a hit row outside the dataset is rejected before anything is written */
  r[0].hits[0].row = 3;
  assert_int_equal(chr_report_write(out, b, r, ids, NULL, NULL, NULL, &run, NULL, 0, NULL, 0, &err),
                   CHR_EINVAL);
  chr_batch_destroy(&b);
}

/* An existing directory, FIFO or other non-regular file is refused up front, naming the path;
 * nothing is created beside it. An existing regular file is fine (it will be replaced). */
static void non_regular_output_refused(void **state) {
  (void)state;
  char *dir = make_dir(), sub[128], fifo[128], file[128];
  chr_error err;
  chr_error_clear(&err);
  snprintf(sub, sizeof sub, "%s/outdir", dir);
  assert_int_equal(mkdir(sub, 0755), 0);
  assert_int_equal(chr_path_check_writable(sub, &err), CHR_EINVAL);
  char expected[256];
  snprintf(expected, sizeof expected,
           "%s: exists and is a directory (expected a regular file to replace or a new path)", sub);
  assert_string_equal(err.message, expected);
  snprintf(fifo, sizeof fifo, "%s/pipe", dir);
  assert_int_equal(mkfifo(fifo, 0644), 0);
  assert_int_equal(chr_path_check_writable(fifo, &err), CHR_EINVAL);
  assert_non_null(strstr(err.message, "exists and is a FIFO"));
  assert_int_equal(chr_path_check_writable("/dev/null", &err), CHR_EINVAL);
  assert_non_null(strstr(err.message, "/dev/null: exists and is a device"));
  assert_int_equal(entries(dir), 2); /* no temporary file left beside them */
  snprintf(file, sizeof file, "%s/old.json", dir);
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  fclose(f);
  assert_int_equal(chr_path_check_writable(file, &err), CHR_OK);
  assert_int_equal(entries(dir), 3);
  remove(file);
  remove(fifo);
  rmdir(sub);
  rmdir(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(full_report),
      cmocka_unit_test(sweep_ties_and_result_errors),
      cmocka_unit_test(duplicates_listed),
      cmocka_unit_test(missing_directory_fails),
      cmocka_unit_test(non_regular_output_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
