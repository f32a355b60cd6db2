/* Private to src/io: switches HDF5's automatic error-stack printing off for the length of one
 * public call (and restores the caller's setting), because every failure is reported once,
 * through chr_error, with the object named. */
#ifndef CHROMATICA_IO_H5_QUIET_H
#define CHROMATICA_IO_H5_QUIET_H

#include <hdf5.h>

typedef struct {
  H5E_auto2_t func;
  void *data;
} chr_h5_quiet;

static inline void chr_h5_quiet_begin(chr_h5_quiet *q) {
  q->func = NULL;
  q->data = NULL;
  if (H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data) >= 0) H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static inline void chr_h5_quiet_end(const chr_h5_quiet *q) {
  H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

#endif
