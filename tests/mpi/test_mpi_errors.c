/* The MPI error paths are live: on the duplicate main() hands out (MPI_ERRORS_RETURN), an invalid
 * argument to a collective comes back as a chr_error carrying MPI's own error string instead of
 * killing the job, and chr_mpi_agree spreads it to every rank. Run under mpirun at 2 ranks (and
 * alone); every rank runs the same cmocka tests in step. */
#include <mpi.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chromatica/mpi_collect.h"

static MPI_Comm comm = MPI_COMM_NULL;

static void test_check_formats_mpi_string(void **state) {
  (void)state;
  chr_error err;
  assert_int_equal(chr_mpi_check(MPI_SUCCESS, &err, "MPI_Bcast"), CHR_OK);
  assert_int_equal(chr_mpi_check(MPI_ERR_TRUNCATE, &err, "MPI_Recv of %d rows", 7), CHR_EMPI);
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(MPI_ERR_TRUNCATE, text, &length);
  assert_non_null(strstr(err.message, "MPI_Recv of 7 rows failed: "));
  assert_non_null(strstr(err.message, text));
}

/* A negative count is refused by every rank's parameter check before any data moves, so all
 * ranks fail the same way and none is left waiting. */
static void test_collective_error_returns(void **state) {
  (void)state;
  chr_error err;
  int64_t values[1] = {42};
  chr_status st = chr_mpi_bcast_int64s(comm, values, -1, &err);
  assert_int_equal(st, CHR_EMPI);
  assert_non_null(strstr(err.message, "MPI_Bcast of -1 integers from rank 0 failed: "));
  assert_non_null(strstr(err.message, "MPI_ERR_COUNT"));
  /* The communicator still works afterwards, and agreement carries the failure to all. */
  assert_int_equal(chr_mpi_barrier(comm, &err), CHR_OK);
  assert_int_equal(chr_mpi_agree(comm, st, &err), CHR_EMPI);
  assert_non_null(strstr(err.message, "MPI_ERR_COUNT"));
}

/* A real point-to-point error: a message longer than the receive buffer (to itself). */
static void test_truncation_returns(void **state) {
  (void)state;
  int rank = 0, size = 1, sent[2] = {1, 2}, got = 0;
  chr_error err;
  assert_int_equal(chr_mpi_place(comm, &rank, &size, &err), CHR_OK);
  MPI_Request request;
  assert_int_equal(MPI_Isend(sent, 2, MPI_INT, rank, 7, comm, &request), MPI_SUCCESS);
  int rc = MPI_Recv(&got, 1, MPI_INT, rank, 7, comm, MPI_STATUS_IGNORE);
  assert_int_equal(MPI_Wait(&request, MPI_STATUS_IGNORE), MPI_SUCCESS);
  assert_int_equal(chr_mpi_check(rc, &err, "MPI_Recv of one integer"), CHR_EMPI);
  assert_non_null(strstr(err.message, "MPI_ERR_TRUNCATE"));
  /* One rank's failure becomes every rank's, with that rank's message. */
  chr_status local = rank == size - 1 ? CHR_EMPI : CHR_OK;
  if (local == CHR_OK) chr_error_clear(&err);
  assert_int_equal(chr_mpi_agree(comm, local, &err), CHR_EMPI);
  assert_non_null(strstr(err.message, "MPI_ERR_TRUNCATE"));
}

/* chr_mpi_gatherv: rank r sends r + 1 bytes of value r; to rank 0 and to every rank, the
 * concatenation is 0, 1 1, 2 2 2, ... with the counts and offsets to match. */
static void test_gatherv(void **state) {
  (void)state;
  int rank = 0, size = 1;
  chr_error err;
  assert_int_equal(chr_mpi_place(comm, &rank, &size, &err), CHR_OK);
  char mine[64];
  memset(mine, rank, sizeof mine);
  for (int pass = 0; pass < 2; ++pass) {
    int root = pass == 0 ? 0 : CHR_MPI_EVERY_RANK;
    chr_mpi_gathered g;
    assert_int_equal(chr_mpi_gatherv(comm, root, mine, rank + 1, &g, &err, "test bytes"), CHR_OK);
    assert_int_equal(g.ranks, size);
    assert_int_equal(g.total, (int64_t)size * (size + 1) / 2);
    if (root == 0 && rank != 0) assert_null(g.data);
    for (int r = 0; g.data != NULL && r < size; ++r) {
      assert_int_equal(g.bytes[r], r + 1);
      assert_int_equal(g.displs[r], r * (r + 1) / 2);
      for (int b = 0; b < r + 1; ++b) assert_int_equal(g.data[g.displs[r] + b], r);
    }
    chr_mpi_gathered_free(&g);
    assert_null(g.bytes);
  }
}

/* A gather too large for MPI's int counts is refused on every rank, with nothing left held. */
static void test_gatherv_refuses_oversize(void **state) {
  (void)state;
  chr_error err;
  chr_mpi_gathered g;
  char byte = 0;
  assert_int_equal(chr_mpi_gatherv(comm, CHR_MPI_EVERY_RANK, &byte, (int64_t)1 << 31, &g, &err,
                                   "huge lists"),
                   CHR_EINVAL);
  assert_non_null(strstr(err.message, "gather of huge lists"));
  assert_null(g.data);
  assert_null(g.bytes);
  assert_null(g.displs);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  chr_error err;
  if (chr_mpi_duplicate(MPI_COMM_WORLD, &comm, &err) != CHR_OK) {
    MPI_Finalize();
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_check_formats_mpi_string),
      cmocka_unit_test(test_collective_error_returns),
      cmocka_unit_test(test_truncation_returns),
      cmocka_unit_test(test_gatherv),
      cmocka_unit_test(test_gatherv_refuses_oversize),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  MPI_Comm_free(&comm);
  MPI_Finalize();
  return failed;
}
