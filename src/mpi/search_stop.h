/* Stopping a search on a signal (private to src/mpi): how a stop seen by one group reaches the
 * others without making groups wait for one another. */
#ifndef CHROMATICA_MPI_SEARCH_STOP_H
#define CHROMATICA_MPI_SEARCH_STOP_H

#include <mpi.h>
#include <signal.h>

#include "chromatica/error.h"
#include "chromatica/mpi_layout.h"

/* How a stop spreads without making groups wait for one another: at each of its wave
 * boundaries a group all-reduces (MAX) its ranks' signal numbers, its leader adding the value of
 * any stop notice another group's leader has sent it (probed, not received). A group that stops
 * sends one notice to every other leader; after the search the ranks allgather who stopped and
 * each leader receives exactly the notices sent to it, so none is left unmatched. */
typedef struct {
  int value;             /* the signal that stopped this group (0: it did not stop) */
  int sent;              /* its leader sent a notice to every other leader */
  MPI_Request *requests; /* groups entries: the notices in flight */
  int n_requests;
} chr_mpi_stop;

/* *stop_out = the largest signal number any rank of the group, or any notice to its leader,
 * carries (0: go on). Collective on the group communicator. */
chr_status chr_mpi_stop_check(MPI_Comm comm, const chr_layout *L, const volatile sig_atomic_t *stop,
                              int *stop_out, chr_error *err);

/* The leader of a group that has just stopped tells every other group's leader. Local. */
chr_status chr_mpi_stop_notify(MPI_Comm comm, const chr_layout *L, chr_mpi_stop *s, chr_error *err);

/* After the search: every rank learns the largest stop value of any group (*any), leaders
 * receive the notices sent to them and complete their own. Collective on comm. */
chr_status chr_mpi_stop_drain(MPI_Comm comm, const chr_layout *L, chr_mpi_stop *s, int *any,
                              chr_error *err);

#endif
