#define _POSIX_C_SOURCE 200809L /* mkstemp */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chromatica/html_report.h"
#include "chromatica/image.h"
#include "chromatica/thumbnail.h"
#include "chromatica/utf8.h"

/* RFC 4648 section 10 test vectors. */
static void test_base64_vectors(void **state) {
  (void)state;
  static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  static const char *const out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; ++i) {
    char *t = chr_base64_encode((const uint8_t *)in[i], strlen(in[i]));
    assert_non_null(t);
    assert_string_equal(t, out[i]);
    free(t);
  }
}

/* A PNG made by the encoder decodes, through the build's own reader, to the same pixels. */
static void test_png_round_trip(void **state) {
  (void)state;
  enum { W = 7, H = 5 };
  uint8_t rgba[W * H * 4];
  for (int i = 0; i < W * H * 4; ++i) rgba[i] = (uint8_t)(i * 37 + 11);
  uint8_t *png = NULL;
  size_t len = 0;
  chr_error err;
  assert_int_equal(chr_png_encode(rgba, W, H, &png, &len, &err), CHR_OK);
  assert_true(len > 8);
  assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
  chr_image img;
  assert_int_equal(chr_image_decode(png, len, CHR_IMAGE_MAX_PIXELS_DEFAULT, &img, &err), CHR_OK);
  assert_int_equal(img.width, W);
  assert_int_equal(img.height, H);
  assert_memory_equal(img.rgba, rgba, sizeof rgba);
  chr_image_free(&img);
  free(png);
  assert_int_equal(chr_png_encode(rgba, 0, H, &png, &len, &err), CHR_EINVAL);
}

static char *fixture(const char *name) {
  const char *dir = getenv("CHR_FIXTURE_IMAGES");
  static char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir != NULL ? dir : "tests/fixtures/images", name);
  return path;
}

static void test_thumbnail_of_fixture(void **state) {
  (void)state;
  char *uri = NULL;
  int w = 0, h = 0;
  chr_error err;
  assert_int_equal(chr_thumbnail_data_uri(fixture("big_gradient.png"), 32, &uri, &w, &h, &err),
                   CHR_OK);
  assert_true(strncmp(uri, "data:image/png;base64,iVBORw0KGgo", 33) == 0);
  assert_true(w <= 32 && h <= 32 && (w == 32 || h == 32));
  free(uri);
  assert_int_equal(chr_thumbnail_data_uri(fixture("truncated.png"), 32, &uri, &w, &h, &err),
                   CHR_EFORMAT);
  assert_null(uri);
  assert_non_null(strstr(err.message, "truncated.png"));
  assert_int_equal(chr_thumbnail_data_uri(fixture("solid_red.png"), 4, &uri, &w, &h, &err),
                   CHR_EINVAL);
}

static const char hostile[] =
    "{\"total_queries\": 2, \"failed_queries\": 1, \"results\": ["
    "{\"query_id\": \"<script>alert('x')</script>\", \"success\": true,"
    " \"query\": {\"colors\": [\"#ff0000\", \"red;x:url(y)\"], \"weights\": [0.5, 0.5]},"
    " \"results\": [{\"rank\": 1, \"image_id\": \"a\\\"b\\u00e9\\u0001\", \"file_path\": "
    "\"nope.png\","
    "  \"distance\": 1.5, \"confidence\": 0.25, \"dominant_colors\": [\"#00ff00\", \"x\"]}]},"
    "{\"query_id\": \"bad\", \"success\": false, \"error\": \"colors[0] '<b>' is not a colour\","
    " \"results\": []}],"
    " \"run\": {\"timings_ms\": {\"read\": 1, \"write\": null}, \"per_rank\": [{\"rank\": 0}]},"
    " \"performance_stats\": {\"p50_search_time\": 0.002}}";

static void test_render_escapes_and_placeholders(void **state) {
  (void)state;
  cJSON *report = cJSON_Parse(hostile);
  assert_non_null(report);
  chr_html_options o = {"/nonexistent-root", 50, 96, "r\xff.json"};
  chr_html_stats stats;
  char *html = NULL;
  chr_error err;
  assert_int_equal(chr_html_report_render(report, &o, &html, &stats, &err), CHR_OK);
  assert_true(chr_utf8_valid(html, strlen(html)));
  assert_null(strstr(html, "<script"));
  assert_null(strstr(html, "url(y)\""));
  assert_non_null(strstr(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
  assert_non_null(strstr(html, "data-image-id=\"a&quot;b\xc3\xa9\\x01\""));
  assert_non_null(strstr(html, "r\\xff.json"));
  assert_non_null(strstr(html, "colors[0] &#39;&lt;b&gt;&#39; is not a colour"));
  assert_non_null(strstr(html, "background:#00ff00"));
  assert_int_equal(stats.queries, 2);
  assert_int_equal(stats.failed_queries, 1);
  assert_int_equal(stats.thumbnails, 0);
  assert_int_equal(stats.placeholders, 1);
  assert_non_null(strstr(stats.first_unreadable, "/nonexistent-root/nope.png"));
  free(html);
  o.max_thumbnail_queries = 0; /* listed without thumbnails: no image is even tried */
  assert_int_equal(chr_html_report_render(report, &o, &html, &stats, &err), CHR_OK);
  assert_int_equal(stats.placeholders, 0);
  assert_non_null(strstr(html, "--max-thumbnail-queries 0"));
  free(html);
  cJSON_Delete(report);
}

static chr_status load_text(const char *text, chr_error *err) {
  char path[] = "/tmp/chr-html-test-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  cJSON *r = NULL;
  chr_status st = chr_html_report_load(path, &r, err);
  cJSON_Delete(r);
  unlink(path);
  return st;
}

/* An eval report: accepted and drawn when its modes are complete, refused naming the field
 * otherwise; the plot holds one group per mode and the mode names are escaped. */
static void test_eval_page(void **state) {
  (void)state;
  chr_error err;
  const char *mode_a = "{\"mode\": \"fast <i>\", \"recall_at_k_mean\": 0.25, "
                       "\"recall_at_k_min\": 0, \"latency_ms\": {\"total\": {\"mean\": 0}}}";
  const char *mode_b = "{\"mode\": \"exact\", \"recall_at_k_mean\": 1, "
                       "\"recall_at_k_min\": 1, \"latency_ms\": {\"total\": {\"mean\": 120.5}}}";
  char text[1024];
  snprintf(text, sizeof text, "{\"modes\": [%s, %s], \"truth\": \"t\"}", mode_a, mode_b);
  assert_int_equal(load_text(text, &err), CHR_OK);
  cJSON *report = cJSON_Parse(text);
  assert_non_null(report);
  assert_true(chr_html_report_is_eval(report));
  chr_html_options o = {NULL, 50, 96, "eval.json"};
  chr_html_stats stats;
  char *html = NULL;
  assert_int_equal(chr_html_report_render(report, &o, &html, &stats, &err), CHR_OK);
  assert_int_equal(stats.modes, 2);
  assert_non_null(strstr(html, "<svg id=\"recall-cost\""));
  assert_non_null(strstr(html, "fast &lt;i&gt;"));
  assert_null(strstr(html, "fast <i>"));
  int groups = 0;
  for (const char *p = html; (p = strstr(p, "<g class=\"mode\"")) != NULL; ++p) groups++;
  assert_int_equal(groups, 2);
  assert_null(strstr(html, "nan"));
  assert_null(strstr(html, "inf"));
  free(html);
  cJSON_Delete(report);
  snprintf(text, sizeof text,
           "{\"modes\": [%s, {\"mode\": \"x\", \"recall_at_k_mean\": 1.5}]}", mode_a);
  assert_int_equal(load_text(text, &err), CHR_EFORMAT);
  assert_non_null(strstr(err.message, "modes[1].recall_at_k_mean"));
}

static void test_load_refuses_other_json(void **state) {
  (void)state;
  chr_error err;
  assert_int_equal(load_text("{\"results\": []}", &err), CHR_OK);
  assert_int_equal(load_text("{}", &err), CHR_EFORMAT);
  assert_non_null(strstr(err.message, "not a search or eval report"));
  assert_int_equal(load_text("{\"modes\": [], \"truth\": {}}", &err), CHR_EFORMAT);
  assert_non_null(strstr(err.message, "eval report \"modes\" is empty"));
  assert_int_equal(load_text("[1,", &err), CHR_EFORMAT);
  assert_non_null(strstr(err.message, "not valid JSON"));
  cJSON *r = NULL;
  assert_int_equal(chr_html_report_load("/nonexistent/r.json", &r, &err), CHR_EIO);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_base64_vectors),
      cmocka_unit_test(test_png_round_trip),
      cmocka_unit_test(test_thumbnail_of_fixture),
      cmocka_unit_test(test_render_escapes_and_placeholders),
      cmocka_unit_test(test_load_refuses_other_json),
      cmocka_unit_test(test_eval_page),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
