/* The tables of the per-query search options (issue 17): one row per metric and per candidate
 * stage (its name, as a batch spells it and as the report shows it), and one row per option
 * key (type, range, default, field). The batch parser (src/io/batch.c), the defaults
 * (chr_search_options_default), `eval`'s ranges and the README's option table
 * (`chromatica search --options`) all read these rows, so a new metric or option is one row
 * here plus its solver and tests. Pure data: no JSON, no MPI. */
#ifndef CHROMATICA_OPTIONS_H
#define CHROMATICA_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "chromatica/search.h"

/* One accepted spelling of an enumerated option and the value it sets. */
typedef struct {
  const char *name;
  int value;
} chr_option_name;

typedef enum { CHR_OPTION_INT, CHR_OPTION_REAL, CHR_OPTION_BOOL, CHR_OPTION_ENUM } chr_option_type;

/* One option key of a batch's `options` object or of a query. */
typedef struct {
  const char *key;
  chr_option_type type;
  double min, max;              /* INT and REAL: the inclusive range */
  double fallback;              /* the default (BOOL 0/1, ENUM its value); unused for an alias */
  size_t offset;                /* offsetof the field in chr_search_options (int, double or enum) */
  const chr_option_name *names; /* ENUM: the accepted names, in the order messages list them */
  int n_names;
  const char *noun;  /* ENUM: what a wrong name is ("metric", "candidate stage") */
  const char *alias; /* another key setting the same field (the default is that key's) */
  const char *doc;   /* what the option does, for the README's table */
} chr_option;

/* The option table, in the README's order; *count receives its number of rows. */
const chr_option *chr_options(int *count);

/* The row of key, or NULL when key is not an option. */
const chr_option *chr_option_find(const char *key);

/* Sets option o of opts: INT and BOOL from value (already checked), REAL from real, ENUM from
 * value. */
void chr_option_set(const chr_option *o, chr_search_options *opts, int value, double real);

/* The ENUM row's value for name: 1 and *value, or 0 when name is not one of its names. */
int chr_option_name_value(const chr_option *o, const char *name, int *value);

/* Writes the accepted names of an ENUM row as messages list them ("\"a\", \"b\" or \"c\"")
 * into out (truncated to size). */
void chr_option_names_list(const chr_option *o, char *out, size_t size);

/* The name of a metric / candidate stage ("sinkhorn", "emd"; "hellinger", "bounds", "cascade",
 * "auto"), as the batch spells it and the report shows it. */
const char *chr_metric_name(chr_metric m);
const char *chr_stage_name(chr_candidate_stage s);

/* 1 and *out when name is a metric's / candidate stage's name, 0 otherwise. */
int chr_metric_parse(const char *name, chr_metric *out);
int chr_stage_parse(const char *name, chr_candidate_stage *out);

/* Prints the option table as the README's markdown table (key, type, range, default, what). */
void chr_options_markdown(FILE *out);

#endif
