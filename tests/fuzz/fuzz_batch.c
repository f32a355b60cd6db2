/* libFuzzer harness for the JSON batch parser: any bytes must give a batch or a clean error,
 * never a crash, a leak or undefined behaviour (built with ASan + UBSan by run.sh). */
#include <stddef.h>
#include <stdint.h>

#include "chromatica/batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  chr_batch *batch = NULL;
  chr_error err;
  if (chr_batch_parse((const char *)data, size, &batch, &err) != CHR_OK) return 0;
  /* Touch everything a search would read. */
  volatile double sink = chr_batch_max_concurrent(batch);
  for (int i = 0; i < chr_batch_count(batch); ++i) {
    const chr_batch_query *q = chr_batch_query_at(batch, i);
    sink += q->ok + q->hist.count + q->options.k + q->id[0];
    for (int k = 0; q->ok && k < q->hist.count; ++k) sink += q->hist.mass[k] + q->hist.bin[k];
  }
  for (int i = 0; i < chr_batch_warning_count(batch); ++i) sink += chr_batch_warning(batch, i)[0];
  (void)sink;
  chr_batch_destroy(&batch);
  return 0;
}
