/* The one clock of every timing figure the program reports (stage times, phase times, the
 * common clock of query start/end): seconds of monotonic wall time since an arbitrary origin.
 * It lives in core because core measures its own stages and may not call MPI; the MPI layer
 * and the subcommands read the same clock (chr_mpi_seconds is this function), so figures taken
 * on either side of the layer boundary subtract and add consistently. Not collective;
 * thread-safe. */
#ifndef CHROMATICA_CLOCK_H
#define CHROMATICA_CLOCK_H

double chr_clock_seconds(void);

#endif
