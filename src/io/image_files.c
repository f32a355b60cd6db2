#define _POSIX_C_SOURCE 200809L
#include "chromatica/image_files.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
  chr_image_file_list *list;
  int64_t capacity;
  int recursive;
  int input;                /* the input being walked */
  const struct stat *found; /* identity of the entry being added, NULL for a problem */
} walker;

static char *join(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  int slash = la > 0 && lb > 0 && a[la - 1] != '/';
  char *out = malloc(la + lb + (size_t)slash + 1);
  if (out == NULL) return NULL;
  memcpy(out, a, la);
  if (slash) out[la] = '/';
  memcpy(out + la + (size_t)slash, b, lb + 1);
  return out;
}

/* Appends an entry, taking ownership of path and name (freed on failure). */
static chr_status add_entry(walker *w, char *path, char *name, const char *problem,
                            chr_error *err) {
  chr_image_file_list *list = w->list;
  char *problem_copy = problem ? strdup(problem) : NULL;
  if (path == NULL || name == NULL || (problem != NULL && problem_copy == NULL)) goto nomem;
  if (list->count == w->capacity) {
    int64_t grown = w->capacity ? 2 * w->capacity : 256;
    chr_image_file *files = realloc(list->files, (size_t)grown * sizeof *files);
    if (files == NULL) goto nomem;
    list->files = files;
    w->capacity = grown;
  }
  const struct stat *id = w->found;
  list->files[list->count++] = (chr_image_file){path,
                                                name,
                                                problem_copy,
                                                id ? (unsigned long long)id->st_dev : 0,
                                                id ? (unsigned long long)id->st_ino : 0,
                                                w->input};
  return CHR_OK;
nomem:
  free(path);
  free(name);
  free(problem_copy);
  return chr_error_set(err, CHR_ENOMEM, "out of memory listing image files");
}

static chr_status walk_dir(walker *w, const char *dir, const char *prefix, chr_error *err);

static chr_status visit(walker *w, const char *dir, const char *prefix, const char *entry,
                        chr_error *err) {
  if (entry[0] == '.') {
    if (strcmp(entry, ".") != 0 && strcmp(entry, "..") != 0) w->list->ignored_hidden++;
    return CHR_OK;
  }
  char *path = join(dir, entry), *name = join(prefix, entry);
  struct stat info;
  if (path == NULL || name == NULL) return add_entry(w, path, name, NULL, err);
  chr_status st = CHR_OK;
  if (lstat(path, &info) != 0) {
    char problem[256];
    snprintf(problem, sizeof problem, "cannot be examined (%s)", strerror(errno));
    return add_entry(w, path, name, problem, err);
  }
  if (S_ISREG(info.st_mode)) {
    w->found = &info;
    st = add_entry(w, path, name, NULL, err);
    w->found = NULL;
    return st;
  }
  if (S_ISLNK(info.st_mode))
    w->list->ignored_links++;
  else if (S_ISDIR(info.st_mode) && w->recursive)
    st = walk_dir(w, path, name, err);
  else
    w->list->ignored_other++;
  free(path);
  free(name);
  return st;
}

static chr_status walk_dir(walker *w, const char *dir, const char *prefix, chr_error *err) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    char problem[256];
    snprintf(problem, sizeof problem, "directory cannot be read (%s)", strerror(errno));
    return add_entry(w, strdup(dir), strdup(prefix[0] ? prefix : "."), problem, err);
  }
  chr_status st = CHR_OK;
  struct dirent *e;
  while (st == CHR_OK && (e = readdir(d)) != NULL) st = visit(w, dir, prefix, e->d_name, err);
  closedir(d);
  return st;
}

static const char *base_name(const char *path, char *buf, size_t size) {
  size_t len = strlen(path);
  while (len > 1 && path[len - 1] == '/') len--;
  size_t start = len;
  while (start > 0 && path[start - 1] != '/') start--;
  snprintf(buf, size, "%.*s", (int)(len - start), path + start);
  return buf;
}

static int by_identity(const void *a, const void *b) {
  const chr_image_file *x = a, *y = b;
  if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
  if (x->ino != y->ino) return x->ino < y->ino ? -1 : 1;
  if (x->input != y->input) return x->input < y->input ? -1 : 1;
  return strcmp(x->name, y->name);
}

/* Keeps one entry per file reached through several inputs: the first input's (hard links
 * inside one input stay two files). Reorders the list; the caller sorts it by name. */
static void drop_duplicates(chr_image_file_list *list) {
  if (list->count < 2) return;
  qsort(list->files, (size_t)list->count, sizeof *list->files, by_identity);
  int64_t kept = 0;
  for (int64_t i = 0; i < list->count; ++i) {
    chr_image_file *f = &list->files[i];
    const chr_image_file *prev = kept > 0 ? &list->files[kept - 1] : NULL;
    if (prev && f->ino != 0 && f->dev == prev->dev && f->ino == prev->ino &&
        f->input != prev->input) {
      free(f->path);
      free(f->name);
      free(f->problem);
      list->ignored_duplicates++;
      continue;
    }
    list->files[kept++] = *f;
  }
  list->count = kept;
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const chr_image_file *)a)->name, ((const chr_image_file *)b)->name);
}

static chr_status add_input(walker *w, const char *input, int several, chr_error *err) {
  struct stat info;
  if (stat(input, &info) != 0)
    return chr_error_set(err, CHR_EINVAL, "input '%s': %s (expected a directory or an image file)",
                         input, strerror(errno));
  char base[1024];
  base_name(input, base, sizeof base);
  if (S_ISDIR(info.st_mode)) return walk_dir(w, input, several ? base : "", err);
  if (S_ISREG(info.st_mode)) {
    w->found = &info;
    chr_status st = add_entry(w, strdup(input), strdup(base), NULL, err);
    w->found = NULL;
    return st;
  }
  return chr_error_set(err, CHR_EINVAL, "input '%s': neither a directory nor a regular file",
                       input);
}

chr_status chr_image_files_find(char *const *inputs, int n_inputs, int recursive,
                                chr_image_file_list *out, chr_error *err) {
  memset(out, 0, sizeof *out);
  walker w = {out, 0, recursive, 0, NULL};
  chr_status st = CHR_OK;
  for (int i = 0; st == CHR_OK && i < n_inputs; ++i) {
    w.input = i;
    st = add_input(&w, inputs[i], n_inputs > 1, err);
  }
  if (st == CHR_OK) drop_duplicates(out);
  if (st == CHR_OK && out->count > 0)
    qsort(out->files, (size_t)out->count, sizeof *out->files, by_name);
  for (int64_t i = 1; st == CHR_OK && i < out->count; ++i)
    if (strcmp(out->files[i - 1].name, out->files[i].name) == 0)
      st = chr_error_set(err, CHR_EINVAL,
                         "inputs: '%s' and '%s' would both be stored as '%s' (expected inputs "
                         "with different base names)",
                         out->files[i - 1].path, out->files[i].path, out->files[i].name);
  if (st == CHR_OK && out->count == 0)
    st = chr_error_set(err, CHR_EINVAL,
                       "inputs: no file found (%lld hidden, %lld links, %lld other entries "
                       "ignored%s)",
                       (long long)out->ignored_hidden, (long long)out->ignored_links,
                       (long long)out->ignored_other, recursive ? "" : "; try --recursive");
  if (st != CHR_OK) chr_image_file_list_free(out);
  return st;
}

void chr_image_file_list_free(chr_image_file_list *list) {
  if (list == NULL) return;
  for (int64_t i = 0; i < list->count; ++i) {
    free(list->files[i].path);
    free(list->files[i].name);
    free(list->files[i].problem);
  }
  free(list->files);
  memset(list, 0, sizeof *list);
}
