/* What `build` and `synth` share to write an HDF5 file that never appears half written and
 * never destroys the old one: the temporary file "OUT.partial" (or a short unique name beside
 * OUT), created exclusively by rank 0 before all ranks open it, and a SIGTERM/SIGINT flag that
 * lets them stop between collective writes and remove it. Private to src/app. */
#ifndef CHROMATICA_APP_PARTIAL_H
#define CHROMATICA_APP_PARTIAL_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "chromatica/error.h"

#define CHR_EXIT_STOPPED 4 /* stopped by SIGTERM or SIGINT, as `search` */

#define CHR_PARTIAL_RESERVE_BYTES (4 << 20)

typedef struct {
  char name[4200]; /* every rank: the temporary file all ranks open */
  int reserve_fd;  /* rank 0: an unlinked file holding free space, or -1 */
} chr_partial;

/* Rank 0 checks that output can be written (option names it in messages), creates its
 * temporary file (chr_temp_create with ".partial", a stale regular file replaced) and sets
 * aside CHR_PARTIAL_RESERVE_BYTES of disk in an unlinked file: HDF5 1.10 crashes in
 * MPI_Finalize when closing a file fails, and closing writes metadata, so that space is given
 * back just before the close (chr_partial_release). A file system with less free space than
 * expected_bytes (the file's expected size) plus the reserve fails here, before any work:
 * Open MPI 4.1's collective write can hang when it runs out of space on some ranks only.
 * Every rank then holds the name. Collective on comm; on failure every rank returns the same
 * status and nothing is left behind. */
chr_status chr_partial_create(MPI_Comm comm, const char *option, const char *output,
                              int64_t expected_bytes, chr_partial *p, chr_error *err);

/* Gives the reserved space back (closes the reserve). Not collective; safe to repeat. */
void chr_partial_release(chr_partial *p);

/* Rank 0 (remove_file): removes the temporary file; every rank releases its reserve. Not
 * collective. */
void chr_partial_discard(chr_partial *p, int remove_file);

/* Installs the SIGTERM and SIGINT handlers that only note the signal. 0 when they cannot be
 * installed. Not collective. */
int chr_stop_install(void);

/* The stop signal any rank received (SIGTERM or SIGINT), or 0. Collective on comm: every rank
 * gets the same answer (an MPI failure counts as no signal). */
int chr_stop_agree(MPI_Comm comm);

/* "SIGTERM" or "SIGINT". */
const char *chr_stop_name(int signo);

#endif
