#include "h5_filters.h"

#include <stdio.h>
#include <string.h>

/* HDF5's own filters, by id, as the message names them. */
static const struct {
  H5Z_filter_t id;
  const char *name;
} builtin[] = {{H5Z_FILTER_DEFLATE, "gzip/deflate"},
               {H5Z_FILTER_SHUFFLE, "shuffle"},
               {H5Z_FILTER_FLETCHER32, "fletcher32"},
               {H5Z_FILTER_SZIP, "szip"},
               {H5Z_FILTER_NBIT, "nbit"},
               {H5Z_FILTER_SCALEOFFSET, "scaleoffset"}};

/* Registered third-party filters whose files carry no name (h5py writes "lzf"). */
static const char *known_name(H5Z_filter_t id) {
  switch (id) {
    case 307:
      return "bzip2";
    case 32000:
      return "lzf";
    case 32001:
      return "blosc";
    case 32004:
      return "lz4";
    case 32008:
      return "bitshuffle";
    case 32015:
      return "zstd";
    case 32026:
      return "blosc2";
    default:
      return "unregistered";
  }
}

/* Whether this library (with any plugin HDF5_PLUGIN_PATH offers) can decode filter id. */
static int can_decode(H5Z_filter_t id) {
  unsigned config = 0;
  if (H5Zfilter_avail(id) <= 0) return 0;
  return H5Zget_filter_info(id, &config) >= 0 && (config & H5Z_FILTER_CONFIG_DECODE_ENABLED);
}

/* "gzip/deflate, shuffle, ..." : the built-in filters this library can decode. */
static void available_list(char *out, size_t size) {
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < sizeof builtin / sizeof builtin[0] && used < size; ++i)
    if (can_decode(builtin[i].id))
      used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "", builtin[i].name);
}

chr_status chr_h5_check_filters(hid_t dset, const char *name, chr_error *err) {
  chr_status st = CHR_OK;
  hid_t dcpl = H5Dget_create_plist(dset);
  int n = dcpl >= 0 ? H5Pget_nfilters(dcpl) : -1;
  if (n < 0) {
    st = chr_error_set(err, CHR_EIO, "%s: cannot read its filter pipeline", name);
    goto cleanup;
  }
  for (int i = 0; i < n; ++i) {
    unsigned flags = 0, config = 0;
    size_t n_values = 0;
    char stored[64] = "";
    H5Z_filter_t id =
        H5Pget_filter2(dcpl, (unsigned)i, &flags, &n_values, NULL, sizeof stored, stored, &config);
    if (id < 0) {
      st = chr_error_set(err, CHR_EIO, "%s: cannot read filter %d of its pipeline", name, i);
      goto cleanup;
    }
    if (can_decode(id)) continue;
    char list[160];
    available_list(list, sizeof list);
    stored[sizeof stored - 1] = '\0';
    st = chr_error_set(err, CHR_EUNSUPPORTED,
                       "%s: compressed with filter %d (%s), which this HDF5 library does not "
                       "have (expected no filter or one of: %s; or set HDF5_PLUGIN_PATH to a "
                       "plugin for it)",
                       name, (int)id, stored[0] != '\0' ? stored : known_name(id),
                       list[0] != '\0' ? list : "none");
    goto cleanup;
  }
cleanup:
  if (dcpl >= 0) H5Pclose(dcpl);
  return st;
}
