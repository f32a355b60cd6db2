/* Private to src/app: reading the numbers of a command line, the same way in every command. */
#ifndef CHROMATICA_APP_ARGS_H
#define CHROMATICA_APP_ARGS_H

/* 1 and *out = the value when text is a whole decimal number in [lo, hi] with nothing after it
 * (no overflow); 0 otherwise, *out untouched. */
int chr_args_whole(const char *text, long long lo, long long hi, long long *out);

/* Parsers of every command return 0 (run), 1 (--help) or 2 (usage error, already reported).
 * For 1 and 2 this is the command's exit code (0 after printing usage on rank 0 for --help, 2);
 * for 0 it is -1: go on. */
int chr_args_exit_code(int parsed, int rank, const char *usage);

#endif
