/* The one `chromatica` executable: initialises MPI, hands a duplicate of the world communicator
 * (errors returned, not fatal) to the subcommand, and finalises. Only here is MPI_COMM_WORLD
 * named. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "chromatica/app.h"
#include "chromatica/mpi_collect.h"
#include "environment.h"

typedef int (*chr_command_fn)(int argc, char **argv, const chr_command_context *cmd);

typedef struct {
  const char *name;
  chr_command_fn run;
  int rank0_only; /* runs on rank 0 alone; the other ranks exit 0 */
  const char *summary;
} chr_command;

static const chr_command commands[] = {
    {"histogram", chr_cmd_histogram, 1,
     "print the histogram of a weighted palette or an image (JSON)"},
    {"synth", chr_cmd_synth, 0, "write a deterministic synthetic dataset (collective HDF5)"},
    {"build", chr_cmd_build, 0, "index a folder of images into a dataset (collective HDF5)"},
    {"info", chr_cmd_info, 1, "validate a dataset and print a summary"},
    {"index", chr_cmd_index, 0, "add the stored search index (format 2) to a dataset, atomically"},
    {"search", chr_cmd_search, 0, "answer a JSON batch of palette queries (MPI job)"},
    {"eval", chr_cmd_eval, 0, "recall@k and latency of every search mode against exact EMD"},
    {"report", chr_cmd_report, 1, "render a search report as a self-contained HTML page"},
};

/* Places this rank in comm once for every command, and runs the chosen one where it runs. */
static int run_command(const chr_command *chosen, int argc, char **argv, MPI_Comm comm,
                       const chr_threads *threads) {
  chr_command_context ctx = {.comm = comm, .threads_source = threads->source};
  chr_error err;
  if (chr_mpi_place(comm, &ctx.rank, &ctx.size, &err) != CHR_OK) {
    fprintf(stderr, "chromatica %s: %s\n", chosen->name, err.message);
    return 1;
  }
  if (chosen->rank0_only && ctx.rank != 0) return 0;
  return chosen->run(argc, argv, &ctx);
}

static void print_usage(FILE *out) {
  fprintf(out, "usage: chromatica <command> [options]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; ++i)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\n'chromatica <command> --help' describes a command's options.\n");
}

int main(int argc, char **argv) {
  int provided = 0;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    fprintf(stderr, "chromatica: MPI_Init_thread failed\n");
    return 1;
  }
  /* The subcommands get a duplicate with MPI_ERRORS_RETURN: an MPI error then comes back as a
   * return code that every caller checks and the ranks agree on, instead of killing the job. */
  MPI_Comm comm = MPI_COMM_NULL;
  chr_error err;
  int rank = 0, exit_code = 2;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const chr_command *chosen = NULL;
  for (size_t i = 0; argc >= 2 && i < sizeof commands / sizeof commands[0]; ++i)
    if (strcmp(argv[1], commands[i].name) == 0) chosen = &commands[i];
  if (provided < MPI_THREAD_FUNNELED) {
    if (rank == 0) fprintf(stderr, "chromatica: the MPI library lacks MPI_THREAD_FUNNELED\n");
    exit_code = 1;
  } else if (chr_mpi_duplicate(MPI_COMM_WORLD, &comm, &err) != CHR_OK) {
    fprintf(stderr, "chromatica: %s\n", err.message);
    exit_code = 1;
  } else if (chosen != NULL) {
    /* Threads are settled before any command runs, so every parallel region uses them. */
    chr_threads threads;
    chr_status st = chr_mpi_agree(comm, chr_threads_decide(comm, &threads, &err), &err);
    if (st == CHR_OK) chr_threads_apply(&threads);
    if (st != CHR_OK || chr_mpi_agree(comm, chr_environment_check(&err), &err) != CHR_OK) {
      if (rank == 0) fprintf(stderr, "chromatica %s: %s\n", chosen->name, err.message);
      exit_code = 1;
    } else {
      exit_code = run_command(chosen, argc - 1, argv + 1, comm, &threads);
    }
  } else if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    if (rank == 0) print_usage(stdout);
    exit_code = 0;
  } else if (rank == 0) {
    if (argc >= 2) fprintf(stderr, "chromatica: unknown command '%s'\n\n", argv[1]);
    print_usage(stderr);
  }
  if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
  MPI_Finalize();
  return exit_code;
}
