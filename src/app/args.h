/* Private to src/app: reading the numbers of a command line, the same way in every command. */
#ifndef CHROMATICA_APP_ARGS_H
#define CHROMATICA_APP_ARGS_H

/* 1 and *out = the value when text is a whole decimal number in [lo, hi] with nothing after it
 * (no overflow); 0 otherwise, *out untouched. */
int chr_args_whole(const char *text, long long lo, long long hi, long long *out);

#endif
