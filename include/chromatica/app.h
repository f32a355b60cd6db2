/* Subcommands of the one `chromatica` executable. Each takes its own argv (argv[0] is the
 * subcommand name) and the context main() hands it; each returns the process exit code
 * (0 success, 1 failure, 2 usage error). Collective on cmd->comm: every rank must call it,
 * except the rank-0 commands (histogram, info, report), which main() runs on rank 0 only. */
#ifndef CHROMATICA_APP_H
#define CHROMATICA_APP_H

#include <mpi.h>

/* What main() finds once for every subcommand: the communicator, a duplicate of the world whose
 * errors come back as return codes (chr_mpi_duplicate), this rank's place in it, and the source
 * of its thread count. */
typedef struct {
  MPI_Comm comm;
  int rank, size;
  const char *threads_source; /* where this rank's thread count came from (main decides once) */
} chr_command_context;

/* `chromatica histogram --colors C [--weights W] [--sharpen G]` or `--image FILE`: rank 0
 * prints the query's (or the image's) histogram, and an image's palette, as JSON. Rank 0 only. */
int chr_cmd_histogram(int argc, char **argv, const chr_command_context *cmd);

/* `chromatica synth --images N [--seed S] -o FILE`: every rank makes a contiguous block of
 * synthetic images and writes it collectively (MPI-IO). Rank 0 prints a one-line summary. */
int chr_cmd_synth(int argc, char **argv, const chr_command_context *cmd);

/* `chromatica build DIR... -o OUT.h5 [...]`: decodes image files on all ranks and threads and
 * writes their histograms and palettes collectively; rank 0 writes the JSON build log. Exit 0,
 * or 3 with --strict when a file was skipped. */
int chr_cmd_build(int argc, char **argv, const chr_command_context *cmd);

/* `chromatica info FILE [--json]`: rank 0 validates the whole dataset and prints a summary.
 * Rank 0 only. */
int chr_cmd_info(int argc, char **argv, const chr_command_context *cmd);

/* `chromatica index FILE`: adds (or rebuilds) the stored index of FILE collectively on all
 * ranks, replacing FILE atomically; rank 0 prints a one-line summary. */
int chr_cmd_index(int argc, char **argv, const chr_command_context *cmd);

/* `chromatica search --dataset D.h5 --queries B.json --out R.json [--shards S]
 * [--io scatter|parallel] [--progress]`: the MPI batch search; rank 0 writes the report. */
int chr_cmd_search(int argc, char **argv, const chr_command_context *cmd);

/* `chromatica eval --dataset D.h5 --queries B.json --out E.json [...]`: answers the batch in
 * every search mode and in the exact all-image EMD mode; rank 0 writes recall@k, latency and
 * pruning per mode. */
int chr_cmd_eval(int argc, char **argv, const chr_command_context *cmd);

/* `chromatica report REPORT.json [--images ROOT] -o PAGE.html [...]`: rank 0 renders the search
 * report as one self-contained HTML page. Rank 0 only. */
int chr_cmd_report(int argc, char **argv, const chr_command_context *cmd);

#endif
