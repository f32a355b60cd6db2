#include "search_stop.h"

#include <stdlib.h>

#include "chromatica/mpi_collect.h"

/* The tag of a stop notice between group leaders; the layout's row transfers use 101 and 102. */
enum { TAG_STOP = 201 };

chr_status chr_mpi_stop_check(MPI_Comm comm, const chr_layout *L, const volatile sig_atomic_t *stop,
                              int *stop_out, chr_error *err) {
  int local = stop != NULL ? (int)*stop : 0, noticed = 0;
  MPI_Status status;
  chr_status st = L->shard == 0
                      ? chr_mpi_check(MPI_Iprobe(MPI_ANY_SOURCE, TAG_STOP, comm, &noticed, &status),
                                      err, "MPI_Iprobe for a stop notice")
                      : CHR_OK;
  int value = 0;
  if (st == CHR_OK && noticed &&
      (st = chr_mpi_check(MPI_Get_count(&status, MPI_INT, &value), err, "MPI_Get_count")) == CHR_OK)
    local = value > local ? value : local; /* the message stays queued for chr_mpi_stop_drain */
  if ((st = chr_mpi_agree(L->group_comm, st, err)) != CHR_OK) return st;
  *stop_out = 0;
  return chr_mpi_agree(
      L->group_comm,
      chr_mpi_check(MPI_Allreduce(&local, stop_out, 1, MPI_INT, MPI_MAX, L->group_comm), err,
                    "MPI_Allreduce of the stop flags"),
      err);
}

chr_status chr_mpi_stop_notify(MPI_Comm comm, const chr_layout *L, chr_mpi_stop *s,
                               chr_error *err) {
  chr_status st = CHR_OK;
  for (int g = 0; L->shard == 0 && g < L->groups && st == CHR_OK; ++g) {
    if (g == L->group) continue;
    st = chr_mpi_check(MPI_Isend(&s->value, 1, MPI_INT, g * L->shards, TAG_STOP, comm,
                                 &s->requests[s->n_requests]),
                       err, "MPI_Isend of a stop notice to rank %d", g * L->shards);
    if (st == CHR_OK) s->n_requests++;
  }
  /* A notice that did not go out is never waited for; its receiver's drain skips this leader. */
  s->sent = L->shard == 0 && st == CHR_OK && L->groups > 1;
  return st;
}

chr_status chr_mpi_stop_drain(MPI_Comm comm, const chr_layout *L, chr_mpi_stop *s, int *any,
                              chr_error *err) {
  int *all = malloc((size_t)L->ranks * 2 * sizeof *all);
  int mine[2] = {s->value, s->sent};
  *any = 0;
  chr_status st =
      all ? CHR_OK : chr_error_set(err, CHR_ENOMEM, "cannot hold %d stop flags", L->ranks);
  if ((st = chr_mpi_agree(comm, st, err)) == CHR_OK)
    st = chr_mpi_agree(comm,
                       chr_mpi_check(MPI_Allgather(mine, 2, MPI_INT, all, 2, MPI_INT, comm), err,
                                     "MPI_Allgather of the stop flags"),
                       err);
  chr_status agreed = st; /* the same on every rank */
  for (int r = 0; agreed == CHR_OK && r < L->ranks; ++r)
    *any = all[2 * r] > *any ? all[2 * r] : *any;
  for (int g = 0; agreed == CHR_OK && L->shard == 0 && g < L->groups && st == CHR_OK; ++g) {
    int leader = g * L->shards, ignored = 0;
    if (g == L->group || !all[2 * leader + 1]) continue;
    st = chr_mpi_check(MPI_Recv(&ignored, 1, MPI_INT, leader, TAG_STOP, comm, MPI_STATUS_IGNORE),
                       err, "MPI_Recv of the stop notice from rank %d", leader);
  }
  /* A notice is 4 bytes, sent eagerly: its request completes even if nobody received it. */
  chr_status waited = chr_mpi_check(MPI_Waitall(s->n_requests, s->requests, MPI_STATUSES_IGNORE),
                                    err, "MPI_Waitall for the stop notices");
  s->n_requests = 0;
  if (agreed == CHR_OK) st = chr_mpi_agree(comm, st != CHR_OK ? st : waited, err);
  free(all);
  return st;
}
