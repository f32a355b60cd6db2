/* Image decoding of every fixture in tests/fixtures/images (found through the environment
 * variable CHR_FIXTURE_IMAGES, which tests/CMakeLists.txt sets), damaged data built in memory,
 * and the listing of image files in a temporary directory tree. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chromatica/image.h"
#include "chromatica/image_files.h"

/* The fixture's full path; a missing CHR_FIXTURE_IMAGES fails the test (never a skip). */
static const char *fixture(const char *name) {
  static char path[4096];
  const char *dir = getenv("CHR_FIXTURE_IMAGES");
  if (dir == NULL) print_error("CHR_FIXTURE_IMAGES is not set (expected the fixture folder)\n");
  assert_non_null(dir);
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return path;
}

/* The whole file; caller frees. */
static uint8_t *read_fixture(const char *name, size_t *size) {
  FILE *f = fopen(fixture(name), "rb");
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  long n = ftell(f);
  assert_true(n > 0);
  rewind(f);
  uint8_t *bytes = malloc((size_t)n);
  assert_non_null(bytes);
  assert_int_equal(fread(bytes, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *size = (size_t)n;
  return bytes;
}

static void assert_message_has(const chr_error *err, const char *text) {
  if (strstr(err->message, text) == NULL)
    print_error("message '%s' lacks '%s'\n", err->message, text);
  assert_non_null(strstr(err->message, text));
}

static void assert_pixel(const chr_image *img, int x, int y, int r, int g, int b, int a) {
  const uint8_t *p = img->rgba + 4 * ((size_t)y * (size_t)img->width + (size_t)x);
  if (p[0] != r || p[1] != g || p[2] != b || p[3] != a)
    print_error("pixel (%d,%d) is (%d,%d,%d,%d), expected (%d,%d,%d,%d)\n", x, y, p[0], p[1], p[2],
                p[3], r, g, b, a);
  assert_true(p[0] == r && p[1] == g && p[2] == b && p[3] == a);
}

/* Loads a fixture that must decode to w x h pixels, all (r,g,b,a), in the named format. */
static void check_solid(const char *name, const char *format, int w, int h, int r, int g, int b,
                        int a) {
  chr_image img;
  chr_error err;
  chr_error_clear(&err);
  chr_status st = chr_image_load(fixture(name), CHR_IMAGE_MAX_PIXELS_DEFAULT, &img, &err);
  if (st != CHR_OK) print_error("%s: %s\n", name, err.message);
  assert_int_equal(st, CHR_OK);
  assert_string_equal(img.format, format);
  assert_int_equal(img.width, w);
  assert_int_equal(img.height, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) assert_pixel(&img, x, y, r, g, b, a);
  chr_image_free(&img);
  assert_null(img.rgba);
}

/* Loads a fixture that must fail with code and a message containing text (when not NULL). */
static void check_refused(const char *name, chr_status code, const char *text) {
  chr_image img;
  chr_error err;
  chr_error_clear(&err);
  assert_int_equal(chr_image_load(fixture(name), CHR_IMAGE_MAX_PIXELS_DEFAULT, &img, &err), code);
  assert_int_equal(err.code, code);
  if (text != NULL) assert_message_has(&err, text);
  assert_null(img.rgba);
  chr_image_free(&img);
}

static void solid_fixtures_decode_exactly(void **state) {
  (void)state;
  check_solid("solid_red.png", "PNG", 8, 8, 255, 0, 0, 255);
  check_solid("solid_blue.bmp", "BMP", 5, 3, 0, 0, 255, 255);
  check_solid("solid_green.gif", "GIF", 4, 4, 0, 255, 0, 255);
  check_solid("solid_magenta.webp", "WebP", 4, 4, 255, 0, 255, 255);
  check_solid("wrong_extension.jpg", "PNG", 2, 2, 255, 255, 255, 255); /* sniffed, not named */
  check_solid("transparent.png", "PNG", 3, 3, 255, 0, 0, 0);
}

static void two_colour_and_alpha_pixels(void **state) {
  (void)state;
  chr_image img;
  chr_error err;
  chr_error_clear(&err);
  assert_int_equal(chr_image_load(fixture("two_colour.png"), 1000, &img, &err), CHR_OK);
  assert_string_equal(img.format, "PNG");
  assert_int_equal(img.width, 4);
  assert_int_equal(img.height, 4);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) {
      if (y == 0)
        assert_pixel(&img, x, y, 0, 0, 255, 255);
      else
        assert_pixel(&img, x, y, 255, 255, 0, 255);
    }
  chr_image_free(&img);

  assert_int_equal(chr_image_load(fixture("alpha.png"), 4, &img, &err), CHR_OK);
  assert_string_equal(img.format, "PNG");
  assert_int_equal(img.width, 2);
  assert_int_equal(img.height, 2);
  assert_pixel(&img, 0, 0, 0, 255, 0, 255);
  assert_pixel(&img, 1, 0, 255, 0, 255, 255);
  assert_pixel(&img, 0, 1, 0, 0, 255, 0); /* straight alpha: the colour survives alpha 0 */
  assert_pixel(&img, 1, 1, 0, 255, 0, 128);
  chr_image_free(&img);
}

static void grey_jpeg_is_within_one(void **state) {
  (void)state;
  chr_image img;
  chr_error err;
  chr_error_clear(&err);
  assert_int_equal(chr_image_load(fixture("solid_grey.jpg"), 256, &img, &err), CHR_OK);
  assert_string_equal(img.format, "JPEG");
  assert_int_equal(img.width, 16);
  assert_int_equal(img.height, 16);
  /* Observed with stb_image: every pixel decodes to exactly (128,128,128,255). */
  for (size_t i = 0; i < 16 * 16; ++i) {
    for (int c = 0; c < 3; ++c) assert_in_range(img.rgba[4 * i + (size_t)c], 127, 129);
    assert_int_equal(img.rgba[4 * i + 3], 255);
  }
  chr_image_free(&img);
}

static void big_gradient_decodes_exactly(void **state) {
  (void)state;
  chr_image img;
  chr_error err;
  chr_error_clear(&err);
  assert_int_equal(chr_image_load(fixture("big_gradient.png"), 600 * 300, &img, &err), CHR_OK);
  assert_int_equal(img.width, 600);
  assert_int_equal(img.height, 300);
  for (int y = 0; y < 300; ++y)
    for (int x = 0; x < 600; ++x) assert_pixel(&img, x, y, x * 255 / 599, y * 255 / 299, 128, 255);
  chr_image_free(&img);
}

static void bad_fixtures_are_refused(void **state) {
  (void)state;
  check_refused("empty.jpg", CHR_EFORMAT, "empty");
  check_refused("not_an_image.png", CHR_EUNSUPPORTED, "unsupported format");
  check_refused("truncated.png", CHR_EFORMAT, NULL);
  check_refused("truncated.jpg", CHR_EFORMAT, "truncated");
  check_refused("no_such_file.png", CHR_EIO, NULL);
}

static double seconds_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Refused from the IHDR alone: quickly, and before stb_image could try to allocate 40 GB. */
static void huge_dimensions_are_refused_early(void **state) {
  (void)state;
  double start = seconds_now();
  check_refused("huge_dimensions.png", CHR_EINVAL, "too many pixels");
  double elapsed = seconds_now() - start;
  assert_true(elapsed < 1.0);
  chr_image img;
  chr_error err;
  chr_error_clear(&err);
  assert_int_equal(
      chr_image_load(fixture("huge_dimensions.png"), CHR_IMAGE_MAX_PIXELS_DEFAULT, &img, &err),
      CHR_EINVAL);
  assert_message_has(&err, "100000 x 100000");
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* The signature, an IHDR of width x height 8-bit RGB and an IEND: 45 bytes, no pixels.
 * stb_image does not check chunk CRCs, so they are left zero. */
static void tiny_png(uint32_t width, uint32_t height, uint8_t out[45]) {
  static const uint8_t start[16] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
                                    0,    0,   0,   13,  'I',  'H',  'D',  'R'};
  memset(out, 0, 45);
  memcpy(out, start, sizeof start);
  put_be32(out + 16, width);
  put_be32(out + 20, height);
  out[24] = 8; /* bit depth */
  out[25] = 2; /* RGB */
  memcpy(out + 37, "IEND", 4);
}

/* Whatever --max-pixels allows, a PNG over stb_image's own limits is refused from its header as
 * too large, not as an unknown image type (what stb_image's header reader says). */
static void decoder_limits_named(void **state) {
  (void)state;
  const int64_t no_limit = 1LL << 40;
  uint8_t png[45];
  chr_image img;
  chr_error err;
  chr_error_clear(&err);
  tiny_png(100000, 100000, png);
  assert_int_equal(chr_image_decode(png, sizeof png, no_limit, &img, &err), CHR_EUNSUPPORTED);
  assert_string_equal(err.message,
                      "cannot decode PNG data (stb_image: too large): 100000 x 100000 = "
                      "10000000000 pixels (expected at most 268435456 pixels and 16777216 per "
                      "side)");
  assert_null(img.rgba);
  tiny_png(16385, 16385, png); /* 2^28 + 2^15 + 1 pixels */
  assert_int_equal(chr_image_decode(png, sizeof png, no_limit, &img, &err), CHR_EUNSUPPORTED);
  assert_message_has(&err, "too large");
  tiny_png((1u << 24) + 1, 1, png); /* few pixels, but one side over 2^24 */
  assert_int_equal(chr_image_decode(png, sizeof png, no_limit, &img, &err), CHR_EUNSUPPORTED);
  assert_message_has(&err, "16777217 x 1");
  tiny_png(16384, 16384, png); /* exactly 2^28: within the limits, refused for its missing data */
  assert_int_equal(chr_image_decode(png, sizeof png, no_limit, &img, &err), CHR_EFORMAT);
  assert_null(strstr(err.message, "too large"));
  tiny_png(UINT32_MAX, UINT32_MAX, png); /* 2^64 - 2^33 + 1 pixels, counted without overflow */
  assert_int_equal(chr_image_decode(png, sizeof png, no_limit, &img, &err), CHR_EINVAL);
  assert_message_has(&err, "= 18446744065119617025 pixels (limit 1099511627776)");
  /* a user limit below both is reported as such */
  tiny_png(100000, 100000, png);
  assert_int_equal(chr_image_decode(png, sizeof png, CHR_IMAGE_MAX_PIXELS_DEFAULT, &img, &err),
                   CHR_EINVAL);
  assert_message_has(&err, "too many pixels");
}

static void damaged_data_in_memory(void **state) {
  (void)state;
  chr_image img;
  chr_error err;
  size_t size;

  uint8_t *bmp = read_fixture("solid_blue.bmp", &size);
  chr_error_clear(&err);
  assert_int_equal(chr_image_decode(bmp, size - 10, 100, &img, &err), CHR_EFORMAT);
  assert_message_has(&err, "truncated");
  assert_int_equal(chr_image_decode(bmp, size, 100, &img, &err), CHR_OK); /* whole: fine */
  chr_image_free(&img);
  free(bmp);

  uint8_t *gif = read_fixture("solid_green.gif", &size);
  assert_int_equal(gif[size - 1], 0x3b);
  chr_error_clear(&err);
  assert_int_equal(chr_image_decode(gif, size - 1, 100, &img, &err), CHR_EFORMAT);
  assert_null(img.rgba);
  free(gif);

  uint8_t *png = read_fixture("solid_red.png", &size);
  chr_error_clear(&err);
  assert_int_equal(chr_image_decode(png, size, 63, &img, &err), CHR_EINVAL);
  assert_message_has(&err, "too many pixels");
  assert_int_equal(chr_image_decode(png, size, 64, &img, &err), CHR_OK);
  chr_image_free(&img);
  free(png);

  chr_image zero;
  memset(&zero, 0, sizeof zero);
  chr_image_free(&zero);
  chr_image_free(&zero); /* twice: still safe */
  chr_image_free(NULL);
}

/* A temporary tree for chr_image_files_find:
 *   root/tree/{a.png, sub/b.png, .hidden, link -> a.png}
 *   root/empty/
 *   root/x1/pic.png, root/x2/pic.png, root/d1/same/c.png, root/d2/same/c.png */
typedef struct {
  char root[64];
} tree_fixture;

static const char *const tree_files[] = {"tree/a.png",   "tree/sub/b.png", "tree/.hidden",
                                         "x1/pic.png",   "x2/pic.png",     "d1/same/c.png",
                                         "d2/same/c.png"};
/* Deepest first, so rmdir works in this order. */
static const char *const tree_dirs[] = {"tree/sub", "tree",    "empty", "x1", "x2",
                                        "d1/same",  "d2/same", "d1",    "d2"};

static const char *in_tree(const tree_fixture *t, const char *rel, char *buf, size_t size) {
  snprintf(buf, size, "%s/%s", t->root, rel);
  return buf;
}

static int tree_setup(void **state) {
  tree_fixture *t = calloc(1, sizeof *t);
  if (t == NULL) return -1;
  snprintf(t->root, sizeof t->root, "/tmp/chr_test_image_XXXXXX");
  if (mkdtemp(t->root) == NULL) return -1;
  *state = t;
  char path[256];
  for (size_t i = sizeof tree_dirs / sizeof tree_dirs[0]; i-- > 0;)
    if (mkdir(in_tree(t, tree_dirs[i], path, sizeof path), 0700) != 0) return -1;
  for (size_t i = 0; i < sizeof tree_files / sizeof tree_files[0]; ++i) {
    FILE *f = fopen(in_tree(t, tree_files[i], path, sizeof path), "w");
    if (f == NULL) return -1;
    fputs("not really an image\n", f);
    fclose(f);
  }
  if (symlink("a.png", in_tree(t, "tree/link", path, sizeof path)) != 0) return -1;
  return 0;
}

static int tree_teardown(void **state) {
  tree_fixture *t = *state;
  if (t == NULL) return 0;
  char path[256];
  unlink(in_tree(t, "tree/link", path, sizeof path));
  for (size_t i = 0; i < sizeof tree_files / sizeof tree_files[0]; ++i)
    unlink(in_tree(t, tree_files[i], path, sizeof path));
  for (size_t i = 0; i < sizeof tree_dirs / sizeof tree_dirs[0]; ++i)
    rmdir(in_tree(t, tree_dirs[i], path, sizeof path));
  int st = rmdir(t->root);
  free(t);
  return st == 0 ? 0 : -1; /* a leftover entry means the teardown list is incomplete */
}

static void files_recursive_and_not(void **state) {
  tree_fixture *t = *state;
  char tree[256], want_path[256];
  char *inputs[1] = {(char *)in_tree(t, "tree", tree, sizeof tree)};
  chr_image_file_list list;
  chr_error err;
  chr_error_clear(&err);

  assert_int_equal(chr_image_files_find(inputs, 1, 1, &list, &err), CHR_OK);
  assert_int_equal(list.count, 2);
  assert_string_equal(list.files[0].name, "a.png");
  assert_string_equal(list.files[1].name, "sub/b.png");
  assert_string_equal(list.files[0].path, in_tree(t, "tree/a.png", want_path, sizeof want_path));
  assert_string_equal(list.files[1].path,
                      in_tree(t, "tree/sub/b.png", want_path, sizeof want_path));
  assert_null(list.files[0].problem);
  assert_null(list.files[1].problem);
  assert_int_equal(list.ignored_hidden, 1);
  assert_int_equal(list.ignored_links, 1);
  assert_int_equal(list.ignored_other, 0);
  chr_image_file_list_free(&list);
  assert_int_equal(list.count, 0);

  assert_int_equal(chr_image_files_find(inputs, 1, 0, &list, &err), CHR_OK);
  assert_int_equal(list.count, 1);
  assert_string_equal(list.files[0].name, "a.png");
  assert_int_equal(list.ignored_hidden, 1);
  assert_int_equal(list.ignored_links, 1);
  assert_int_equal(list.ignored_other, 1); /* sub, without recursion */
  chr_image_file_list_free(&list);
  chr_image_file_list_free(&list); /* twice: still safe */
}

/* Several inputs: names carry each input's base name, a single file its own base name. */
static void files_several_inputs(void **state) {
  tree_fixture *t = *state;
  char a[256], b[256];
  char *inputs[2] = {(char *)in_tree(t, "tree", a, sizeof a),
                     (char *)in_tree(t, "x1/pic.png", b, sizeof b)};
  chr_image_file_list list;
  chr_error err;
  chr_error_clear(&err);
  assert_int_equal(chr_image_files_find(inputs, 2, 1, &list, &err), CHR_OK);
  assert_int_equal(list.count, 3);
  assert_string_equal(list.files[0].name, "pic.png");
  assert_string_equal(list.files[1].name, "tree/a.png");
  assert_string_equal(list.files[2].name, "tree/sub/b.png");
  chr_image_file_list_free(&list);
}

static void files_refused(void **state) {
  tree_fixture *t = *state;
  char a[256], b[256];
  chr_image_file_list list;
  chr_error err;

  /* Two single files with the same base name. */
  char *same_files[2] = {(char *)in_tree(t, "x1/pic.png", a, sizeof a),
                         (char *)in_tree(t, "x2/pic.png", b, sizeof b)};
  chr_error_clear(&err);
  assert_int_equal(chr_image_files_find(same_files, 2, 1, &list, &err), CHR_EINVAL);
  assert_message_has(&err, "pic.png");
  assert_int_equal(list.count, 0);

  /* Two directories with the same base name and the same file inside. */
  char *same_dirs[2] = {(char *)in_tree(t, "d1/same", a, sizeof a),
                        (char *)in_tree(t, "d2/same", b, sizeof b)};
  chr_error_clear(&err);
  assert_int_equal(chr_image_files_find(same_dirs, 2, 1, &list, &err), CHR_EINVAL);
  assert_message_has(&err, "same/c.png");

  char *empty[1] = {(char *)in_tree(t, "empty", a, sizeof a)};
  chr_error_clear(&err);
  assert_int_equal(chr_image_files_find(empty, 1, 1, &list, &err), CHR_EINVAL);
  assert_message_has(&err, "no file found");
  assert_int_equal(list.count, 0);

  char *missing[1] = {(char *)in_tree(t, "does_not_exist", a, sizeof a)};
  chr_error_clear(&err);
  assert_int_equal(chr_image_files_find(missing, 1, 1, &list, &err), CHR_EINVAL);
  assert_message_has(&err, "does_not_exist");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(solid_fixtures_decode_exactly),
      cmocka_unit_test(two_colour_and_alpha_pixels),
      cmocka_unit_test(grey_jpeg_is_within_one),
      cmocka_unit_test(big_gradient_decodes_exactly),
      cmocka_unit_test(bad_fixtures_are_refused),
      cmocka_unit_test(huge_dimensions_are_refused_early),
      cmocka_unit_test(decoder_limits_named),
      cmocka_unit_test(damaged_data_in_memory),
      cmocka_unit_test_setup_teardown(files_recursive_and_not, tree_setup, tree_teardown),
      cmocka_unit_test_setup_teardown(files_several_inputs, tree_setup, tree_teardown),
      cmocka_unit_test_setup_teardown(files_refused, tree_setup, tree_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
