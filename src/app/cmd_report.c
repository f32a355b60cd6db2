/* `chromatica report REPORT.json [--images ROOT] -o PAGE.html`: renders a search report as one
 * self-contained HTML page (html_report.h) on rank 0; other ranks do nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "chromatica/app.h"
#include "chromatica/html_report.h"
#include "chromatica/mpi_collect.h"
#include "chromatica/paths.h"
#include "chromatica/textfile.h"
#include "chromatica/thumbnail.h"

#define REPORT_MAX_THUMB_QUERIES_DEFAULT 50
#define REPORT_THUMB_SIDE_DEFAULT 96

static const char usage[] =
    "usage: chromatica report REPORT.json [--images ROOT] -o PAGE.html\n"
    "                         [--max-thumbnail-queries N] [--thumbnail-size PX]\n"
    "  Writes one self-contained HTML page of a search report: each query's palette and its\n"
    "  results with thumbnails of ROOT/<file_path> (the folder the dataset was built from),\n"
    "  and the run's figures. Queries beyond N (default 50) are listed without thumbnails;\n"
    "  thumbnails are at most PX pixels (default 96, 8..512) on their longer side.\n"
    "  An eval report (chromatica eval) gets a page of its modes: a table and recall against\n"
    "  mean latency per mode as a plot.\n";

typedef struct {
  const char *report, *images, *out;
  long long max_queries, side;
} report_args;

/* 0 parsed, 1 help, 2 usage error (already reported). */
static int parse_args(int argc, char **argv, report_args *a) {
  for (int i = 1; i < argc; ++i) {
    const char *opt = argv[i];
    if (strcmp(opt, "--help") == 0) return 1;
    int value_opt = strcmp(opt, "--images") == 0 || strcmp(opt, "-o") == 0 ||
                    strcmp(opt, "--out") == 0 || strcmp(opt, "--max-thumbnail-queries") == 0 ||
                    strcmp(opt, "--thumbnail-size") == 0;
    if (value_opt && i + 1 >= argc) {
      fprintf(stderr, "chromatica report: %s needs a value\n%s", opt, usage);
      return 2;
    }
    if (!value_opt && (opt[0] == '-' || a->report != NULL)) {
      fprintf(stderr, "chromatica report: unexpected argument '%s'\n%s", opt, usage);
      return 2;
    }
    if (!value_opt) {
      a->report = opt;
      continue;
    }
    const char *v = argv[++i];
    if (strcmp(opt, "--images") == 0) {
      a->images = v;
    } else if (strcmp(opt, "-o") == 0 || strcmp(opt, "--out") == 0) {
      a->out = v;
    } else if (strcmp(opt, "--max-thumbnail-queries") == 0
                   ? !chr_args_whole(v, 0, 1000000000, &a->max_queries)
                   : !chr_args_whole(v, CHR_THUMBNAIL_SIDE_MIN, CHR_THUMBNAIL_SIDE_MAX, &a->side)) {
      fprintf(stderr, "chromatica report: %s '%s' (expected a whole number %s)\n", opt, v,
              strcmp(opt, "--thumbnail-size") == 0 ? "from 8 to 512" : "from 0 to 1000000000");
      return 2;
    }
  }
  if (a->report == NULL || a->out == NULL) {
    fprintf(stderr, "chromatica report: %s is required\n%s",
            a->report == NULL ? "REPORT.json" : "-o PAGE.html", usage);
    return 2;
  }
  return 0;
}

/* Everything that can be refused before reading an image: --images, -o against the inputs. */
static chr_status check_paths(const report_args *a, chr_error *err) {
  struct stat info;
  if (a->images != NULL) {
    int found = stat(a->images, &info) == 0;
    if (!found || !S_ISDIR(info.st_mode))
      return chr_error_set(err, CHR_EINVAL,
                           "--images '%s': %s (expected the folder the dataset was built from)",
                           a->images, found ? "not a directory" : strerror(errno));
  }
  chr_status st = chr_path_check_distinct("-o", a->out, "REPORT", a->report, err);
  if (st == CHR_OK) st = chr_path_check_writable(a->out, err);
  return st;
}

static int run(const report_args *a) {
  cJSON *report = NULL;
  char *html = NULL;
  chr_html_stats stats;
  chr_error err;
  chr_error_clear(&err);
  chr_html_options o = {a->images, (int)a->max_queries, (int)a->side, a->report};
  chr_status st = check_paths(a, &err);
  if (st == CHR_OK) st = chr_html_report_load(a->report, &report, &err);
  if (st == CHR_OK) st = chr_html_report_check_output(report, a->images, a->out, &err);
  if (st == CHR_OK) st = chr_html_report_render(report, &o, &html, &stats, &err);
  if (st == CHR_OK) st = chr_text_write_atomic(a->out, html, "report page", &err);
  if (st != CHR_OK) {
    fprintf(stderr, "chromatica report: %s\n", err.message);
  } else {
    if (stats.placeholders > 0)
      fprintf(stderr,
              "chromatica report: warning: %d images could not be read and have a "
              "placeholder (first: %s)\n",
              stats.placeholders, stats.first_unreadable);
    if (stats.modes > 0)
      printf("chromatica report: wrote %s (eval report, %d modes)\n", a->out, stats.modes);
    else
      printf("chromatica report: wrote %s (%d queries, %d failed, %d thumbnails)\n", a->out,
             stats.queries, stats.failed_queries, stats.thumbnails);
  }
  free(html);
  cJSON_Delete(report);
  return st == CHR_OK ? 0 : 1;
}

int chr_cmd_report(int argc, char **argv, const chr_command_context *cmd) {
  (void)cmd; /* run on rank 0 alone: no communication */
  report_args a = {NULL, NULL, NULL, REPORT_MAX_THUMB_QUERIES_DEFAULT, REPORT_THUMB_SIDE_DEFAULT};
  int parsed = parse_args(argc, argv, &a);
  return parsed != 0 ? chr_args_exit_code(parsed, 0, usage) : run(&a);
}
