/* The one `chromatica` executable: initialises MPI, hands a duplicate of the world communicator
 * (errors returned, not fatal) to the subcommand, and finalises. Only here is MPI_COMM_WORLD
 * named. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "chromatica/app.h"
#include "chromatica/mpi_collect.h"
#include "environment.h"

typedef int (*chr_command_fn)(int argc, char **argv, MPI_Comm comm);

typedef struct {
  const char *name;
  chr_command_fn run;
  const char *summary;
} chr_command;

static const chr_command commands[] = {
    {"histogram", chr_cmd_histogram, "print the histogram of a weighted palette or an image (JSON)"},
    {"synth", chr_cmd_synth, "write a deterministic synthetic dataset (collective HDF5)"},
    {"build", chr_cmd_build, "index a folder of images into a dataset (collective HDF5)"},
    {"info", chr_cmd_info, "validate a dataset and print a summary"},
    {"index", chr_cmd_index, "add the stored search index (format 2) to a dataset, atomically"},
    {"search", chr_cmd_search, "answer a JSON batch of palette queries (MPI job)"},
    {"eval", chr_cmd_eval, "recall@k and latency of every search mode against exact EMD"},
    {"report", chr_cmd_report, "render a search report as a self-contained HTML page"},
};

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
    if (chr_mpi_agree(comm, chr_environment_check(&err), &err) != CHR_OK) {
      if (rank == 0) fprintf(stderr, "chromatica %s: %s\n", chosen->name, err.message);
      exit_code = 1;
    } else {
      exit_code = chosen->run(argc - 1, argv + 1, comm);
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
