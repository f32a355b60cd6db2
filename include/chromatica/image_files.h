/* Finding the image files of a build (issue 4). Every regular file under the inputs is a
 * candidate whatever its name: the decoder decides from its content, so a mislabelled image is
 * indexed and a non-image is skipped with a reason. Hidden entries (names starting with '.')
 * and symbolic links are not followed; they are only counted. The list is sorted by stored
 * name (bytewise), so row order never depends on the file system's order. No MPI calls; not
 * collective. */
#ifndef CHROMATICA_IMAGE_FILES_H
#define CHROMATICA_IMAGE_FILES_H

#include <stdint.h>

#include "chromatica/error.h"

typedef struct {
  char *path;    /* the path to open: input joined with the relative path */
  char *name;    /* the stored file path (see chr_image_files_find) */
  char *problem; /* NULL, or why the entry cannot be read (an unreadable subdirectory) */
  unsigned long long dev, ino; /* the file's identity (0, 0 for a problem entry) */
  int input;                   /* index of the input it was found through */
} chr_image_file;

typedef struct {
  chr_image_file *files;
  int64_t count;
  int64_t ignored_links, ignored_hidden, ignored_other; /* other: devices, pipes, and
                                                           subdirectories without recursion */
  int64_t ignored_duplicates; /* files already reached through an earlier input */
} chr_image_file_list;

/* Lists the files of n_inputs inputs, each a directory (its files; with recursive, its whole
 * tree) or a single file. Stored names: with one input, the path relative to it (a single file:
 * its base name); with several, each name is prefixed by its input's base name. A file reached
 * through several inputs (`build d1 d1/x.png`, same device and inode) is listed once, through
 * the first of them in argument order, and counted in ignored_duplicates. CHR_EINVAL when
 * an input does not exist or is neither directory nor file, when two inputs give the same name,
 * or when nothing is found; CHR_ENOMEM. Free out with chr_image_file_list_free. */
chr_status chr_image_files_find(char *const *inputs, int n_inputs, int recursive,
                                chr_image_file_list *out, chr_error *err);

void chr_image_file_list_free(chr_image_file_list *list);

#endif
