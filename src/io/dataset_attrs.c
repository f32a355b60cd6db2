/* The root attributes of the histogram dataset (spec section 9): format, format_version,
 * bins, lab_ranges and color_space. No MPI calls. */
#include "dataset_attrs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chromatica/grid.h"

/* Reads a scalar (or one-element) string attribute of the root group into out. */
static chr_status read_attr_string(hid_t file, const char *name, char *out, size_t size,
                                   chr_error *err) {
  chr_status st = CHR_OK;
  hid_t attr = H5I_INVALID_HID, ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
  hid_t space = H5I_INVALID_HID;
  char *fixed = NULL;
  out[0] = '\0';
  htri_t exists = H5Aexists(file, name);
  if (exists <= 0) {
    st = chr_error_set(err, CHR_EFORMAT, "root attribute '%s': missing (expected a string)", name);
    goto cleanup;
  }
  if ((attr = H5Aopen(file, name, H5P_DEFAULT)) < 0 || (ftype = H5Aget_type(attr)) < 0 ||
      (space = H5Aget_space(attr)) < 0) {
    st = chr_error_set(err, CHR_EIO, "root attribute '%s': cannot be opened", name);
    goto cleanup;
  }
  if (H5Tget_class(ftype) != H5T_STRING || H5Sget_simple_extent_npoints(space) != 1) {
    st = chr_error_set(err, CHR_EFORMAT,
                       "root attribute '%s': not a single string (expected a string)", name);
    goto cleanup;
  }
  htri_t variable = H5Tis_variable_str(ftype);
  if (variable < 0 || (mtype = H5Tcopy(ftype)) < 0) {
    st = chr_error_set(err, CHR_EIO, "root attribute '%s': cannot read its type", name);
    goto cleanup;
  }
  if (variable) {
    char *value = NULL;
    if (H5Aread(attr, mtype, &value) < 0) {
      st = chr_error_set(err, CHR_EIO, "root attribute '%s': cannot be read", name);
      goto cleanup;
    }
    snprintf(out, size, "%s", value ? value : "");
    H5free_memory(value);
  } else {
    size_t len = H5Tget_size(ftype);
    if (len == 0 || (fixed = calloc(len + 1, 1)) == NULL) {
      st = chr_error_set(err, CHR_ENOMEM, "root attribute '%s': out of memory", name);
      goto cleanup;
    }
    if (H5Aread(attr, mtype, fixed) < 0) {
      st = chr_error_set(err, CHR_EIO, "root attribute '%s': cannot be read", name);
      goto cleanup;
    }
    size_t n = strlen(fixed);
    while (n > 0 && fixed[n - 1] == ' ') fixed[--n] = '\0';
    snprintf(out, size, "%s", fixed);
  }
cleanup:
  free(fixed);
  if (space >= 0) H5Sclose(space);
  if (mtype >= 0) H5Tclose(mtype);
  if (ftype >= 0) H5Tclose(ftype);
  if (attr >= 0) H5Aclose(attr);
  return st;
}

/* Reads a numeric root attribute of exactly n values, converted to double. */
static chr_status read_attr_numbers(hid_t file, const char *name, int n, int integer,
                                    const char *expected, double *out, chr_error *err) {
  chr_status st = CHR_OK;
  hid_t attr = H5I_INVALID_HID, ftype = H5I_INVALID_HID, space = H5I_INVALID_HID;
  if (H5Aexists(file, name) <= 0) {
    st = chr_error_set(err, CHR_EFORMAT, "root attribute '%s': missing (expected %s)", name,
                       expected);
    goto cleanup;
  }
  if ((attr = H5Aopen(file, name, H5P_DEFAULT)) < 0 || (ftype = H5Aget_type(attr)) < 0 ||
      (space = H5Aget_space(attr)) < 0) {
    st = chr_error_set(err, CHR_EIO, "root attribute '%s': cannot be opened", name);
    goto cleanup;
  }
  H5T_class_t cls = H5Tget_class(ftype);
  if (cls != H5T_INTEGER && (integer || cls != H5T_FLOAT)) {
    st = chr_error_set(err, CHR_EFORMAT, "root attribute '%s': not %s (expected %s)", name,
                       integer ? "integer" : "numeric", expected);
    goto cleanup;
  }
  hssize_t count = H5Sget_simple_extent_npoints(space);
  if (count != n) {
    st = chr_error_set(err, CHR_EFORMAT, "root attribute '%s': %lld values (expected %s)", name,
                       (long long)count, expected);
    goto cleanup;
  }
  if (H5Aread(attr, H5T_NATIVE_DOUBLE, out) < 0) {
    st = chr_error_set(err, CHR_EIO, "root attribute '%s': cannot be read", name);
    goto cleanup;
  }
cleanup:
  if (space >= 0) H5Sclose(space);
  if (ftype >= 0) H5Tclose(ftype);
  if (attr >= 0) H5Aclose(attr);
  return st;
}

static void format_numbers(const double *v, int n, char *out, size_t size) {
  size_t used = (size_t)snprintf(out, size, "[");
  for (int i = 0; i < n && used < size; ++i)
    used += (size_t)snprintf(out + used, size - used, "%s%.10g", i ? ", " : "", v[i]);
  if (used < size) snprintf(out + used, size - used, "]");
}

chr_status chr_dataset_check_root_attributes(hid_t file, int *format_version, chr_error *err) {
  char text[256], found[256];
  chr_status st = read_attr_string(file, "format", text, sizeof text, err);
  if (st != CHR_OK) return st;
  if (strcmp(text, "chromatica-histograms") != 0)
    return chr_error_set(err, CHR_EFORMAT,
                         "root attribute 'format': '%s' (expected 'chromatica-histograms')", text);
  double version = 0;
  st = read_attr_numbers(file, "format_version", 1, 1, "1 or 2", &version, err);
  if (st != CHR_OK) return st;
  if (version != 1 && version != 2)
    return chr_error_set(err, CHR_EFORMAT,
                         "root attribute 'format_version': %.10g (expected 1 or 2)", version);
  *format_version = (int)version;
  static const double bins_expected[3] = {CHR_GRID_NL, CHR_GRID_NA, CHR_GRID_NB};
  double bins[3];
  st = read_attr_numbers(file, "bins", 3, 1, "[8, 12, 12]", bins, err);
  if (st != CHR_OK) return st;
  for (int i = 0; i < 3; ++i)
    if (bins[i] != bins_expected[i]) {
      format_numbers(bins, 3, found, sizeof found);
      return chr_error_set(err, CHR_EFORMAT, "root attribute 'bins': %s (expected [8, 12, 12])",
                           found);
    }
  static const double ranges_expected[6] = {CHR_GRID_L_MIN, CHR_GRID_L_MAX, CHR_GRID_A_MIN,
                                            CHR_GRID_A_MAX, CHR_GRID_B_MIN, CHR_GRID_B_MAX};
  double ranges[6];
  st = read_attr_numbers(file, "lab_ranges", 6, 0, "[0, 100, -86, 98, -108, 95]", ranges, err);
  if (st != CHR_OK) return st;
  for (int i = 0; i < 6; ++i)
    if (!(fabs(ranges[i] - ranges_expected[i]) <= 1e-9)) {
      format_numbers(ranges, 6, found, sizeof found);
      return chr_error_set(err, CHR_EFORMAT,
                           "root attribute 'lab_ranges': %s (expected [0, 100, -86, 98, -108, 95])",
                           found);
    }
  st = read_attr_string(file, "color_space", text, sizeof text, err);
  if (st != CHR_OK) return st;
  if (strcmp(text, "CIELAB D65") != 0)
    return chr_error_set(err, CHR_EFORMAT,
                         "root attribute 'color_space': '%s' (expected 'CIELAB D65')", text);
  return CHR_OK;
}
