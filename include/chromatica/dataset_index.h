/* The stored search index of a dataset (format version 2, spec section 11 "A stored index"):
 *   /index/offsets  int64   [N + 1]  row i's entries are [offsets[i], offsets[i+1])
 *   /index/bins     uint16  [nnz]    non-zero bins, ascending within a row
 *   /index/mass     float32 [nnz]    their masses, bit for bit the /histograms entries
 *   /index/roots    uint16  [1152, N] binary16 sqrt(mass) per bin and row (0 where no mass):
 *                   the bin-major columns the stage-1 scan reads, contiguous, so a search maps
 *                   them from the page cache instead of building them
 *   /index/centroid float32 [3, N]   the cascade's per-image centroid (L, a, b) ...
 *   /index/cdf      uint8   [29, N]  ... and quantised marginal distributions, bit for bit what
 *                   chr_index_summary_block computes from the row (index_version >= 2: a
 *                   version-1 index has none and a search computes them at load)
 *   /index/duplicates int64 [D, 2]   the duplicate groups: (row, representative) for each of
 *                   the D collapsed rows, as chr_dups orders them (index_version 3: older
 *                   indexes have none and a search hashes every row at load)
 * attributes of /index: index_version (3; 1 and 2 are still read), rows (N), bins (1152), nnz,
 * checksum (uint64: the sum mod 2^64 of chr_csr_row_term over all rows), and in version 3
 * duplicates (D) and duplicates_checksum (chr_dups_checksum of the pairs and checksum); /histograms
 * carries the same
 * checksum as its attribute index_checksum (written together with the index), and the root
 * format_version is 2. Plain datasets and attributes: h5py reads every object.
 * No MPI calls: parallel access comes from the caller's fapl and dxpl. */
#ifndef CHROMATICA_DATASET_INDEX_H
#define CHROMATICA_DATASET_INDEX_H

#include <hdf5.h>
#include <stdint.h>

#include "chromatica/dataset.h"
#include "chromatica/duplicates.h"
#include "chromatica/error.h"

#define CHR_INDEX_VERSION 3 /* written; 1 and 2 (without what later ones add) are still read */

typedef struct {
  int present;    /* 1: a consistent /index to use; 0: a format-1 file without one */
  int summaries;  /* 1: /index/centroid and /index/cdf are stored (index_version >= 2) */
  int duplicates; /* 1: /index/duplicates is stored (index_version 3) */
  int64_t rows, nnz;
  uint64_t checksum;
  int64_t dup_pairs;     /* index_version 3: the attribute duplicates, /index/duplicates' rows */
  uint64_t dup_checksum; /* ... and duplicates_checksum (chr_dups_checksum) */
  uint64_t ids_checksum; /* optional attribute ids_checksum: the fingerprint of /image_ids
                            (chr_dataset_ids_fingerprint) found unique at index time; 0: none */
} chr_index_meta;

/* Inspects the index metadata of an open dataset without reading any row. format_version 1
 * without /index: CHR_OK, present = 0. format_version 2 whose /index attributes and shapes
 * match the histograms (N rows, 1152 bins, index_version 1 or 2, /histograms' index_checksum
 * equal to the index's checksum): CHR_OK, present = 1. Anything else (a v2 file without /index,
 * a v1 file with one, another index_version, N or nnz that disagree with a dataset's length, a
 * missing or different index_checksum: histograms rewritten after indexing) is CHR_EFORMAT
 * naming the object and the values. Collective like the fapl the dataset was opened with. */
chr_status chr_dataset_index_meta(chr_dataset *ds, chr_index_meta *meta, chr_error *err);

/* Reads /index/duplicates (index_version 3: meta->duplicates) into *out (free with
 * chr_dups_free): checks the pairs' shape (chr_dups_check_pairs) and their fingerprint against
 * the attribute duplicates_checksum, which binds them to the index checksum, so groups written
 * for other rows or edited since are CHR_EFORMAT, never used. Does not compare rows (the caller
 * does: chr_mpi_duplicates_stored). Independent read. */
chr_status chr_dataset_index_read_duplicates(chr_dataset *ds, const chr_index_meta *meta,
                                             chr_dups *out, chr_error *err);

/* Reads /index/offsets[first .. first + count] (count + 1 values) into offsets. count may be
 * -1 to take part in a collective transfer without reading. dxpl as chr_dataset_read_rows. */
chr_status chr_dataset_index_read_offsets(chr_dataset *ds, int64_t first, int64_t count,
                                          int64_t *offsets, hid_t dxpl, chr_error *err);

/* Reads entries [first, first + count) of /index/bins and /index/mass (count may be 0 in a
 * collective transfer). */
chr_status chr_dataset_index_read_entries(chr_dataset *ds, int64_t first, int64_t count,
                                          uint16_t *bins, float *mass, hid_t dxpl, chr_error *err);

/* Reads the root columns of rows [first, first + count) into out (CHR_BINS columns of count
 * values, column b at out + b * count). Independent reads. */
chr_status chr_dataset_index_read_roots(chr_dataset *ds, int64_t first, int64_t count,
                                        uint16_t *out, chr_error *err);

/* Reads the summaries of rows [first, first + count) (index_version 2) into centroid (3
 * columns of count values) and cdf (CHR_INDEX_CDF columns). Independent reads. */
chr_status chr_dataset_index_read_summaries(chr_dataset *ds, int64_t first, int64_t count,
                                            float *centroid, uint8_t *cdf, chr_error *err);

/* Maps /index/roots read-only (it must be contiguous and lie wholly inside the file, which is
 * checked against the file's size: a truncated file is refused, never a SIGBUS). *roots
 * receives column 0 of row 0; column b of row r is at (*roots)[b * N + r]. The mapping is
 * released with chr_roots_unmap(*map). Not collective; needs the file's path for mmap. */
typedef struct chr_roots_map chr_roots_map;
chr_status chr_dataset_index_map_roots(chr_dataset *ds, const char *path, chr_roots_map **map,
                                       const uint16_t **roots, chr_error *err);
void chr_roots_unmap(void *map);

/* Maps /index/bins and /index/mass (nnz entries each) the same way; *bins and *mass receive
 * entry 0. Release both maps with chr_roots_unmap (*mass_map may be NULL on failure). */
chr_status chr_dataset_index_map_entries(chr_dataset *ds, const char *path, int64_t nnz,
                                         chr_roots_map **bins_map, const uint16_t **bins,
                                         chr_roots_map **mass_map, const float **mass,
                                         chr_error *err);

/* Maps /index/centroid and /index/cdf (index_version 2) the same way; *centroid and *cdf
 * receive column 0 of row 0 (column k of row r at [k * N + r]). Release both maps with
 * chr_roots_unmap (*cdf_map may be NULL on failure). */
chr_status chr_dataset_index_map_summaries(chr_dataset *ds, const char *path,
                                           chr_roots_map **centroid_map, const float **centroid,
                                           chr_roots_map **cdf_map, const uint8_t **cdf,
                                           chr_error *err);

/* --- writing (into an existing dataset file) --- */
typedef struct chr_index_writer chr_index_writer;

/* Opens path read-write, removes an old /index (its space is not reclaimed) and creates
 * /index with contiguous datasets for rows images and nnz entries. Collective on the fapl's
 * communicator if it is an MPI-IO fapl (every rank passes the same rows and nnz). */
chr_status chr_index_writer_create(const char *path, hid_t fapl, int64_t rows, int64_t nnz,
                                   chr_index_writer **out, chr_error *err);

/* Writes offsets[first .. first + count) (count 0: join a collective transfer only). */
chr_status chr_index_writer_put_offsets(chr_index_writer *w, int64_t first, int64_t count,
                                        const int64_t *offsets, hid_t dxpl, chr_error *err);

/* Writes entries [first, first + count) of bins and mass. */
chr_status chr_index_writer_put_entries(chr_index_writer *w, int64_t first, int64_t count,
                                        const uint16_t *bins, const float *mass, hid_t dxpl,
                                        chr_error *err);

/* Writes the root columns of rows [first, first + count): block holds CHR_BINS columns of
 * count values (chr_index_roots_block). count 0: joins a collective transfer only. */
chr_status chr_index_writer_put_roots(chr_index_writer *w, int64_t first, int64_t count,
                                      const uint16_t *block, hid_t dxpl, chr_error *err);

/* Writes the summaries of rows [first, first + count): centroid holds 3 columns and cdf
 * CHR_INDEX_CDF columns of count values (chr_index_summary_block). count 0: joins a collective
 * transfer only. */
chr_status chr_index_writer_put_summaries(chr_index_writer *w, int64_t first, int64_t count,
                                          const float *centroid, const uint8_t *cdf, hid_t dxpl,
                                          chr_error *err);

/* Creates /index/duplicates for the groups d (every rank passes the same d) and writes its
 * pairs if `mine` (one rank writes, the others join). Its fingerprint (chr_dups_checksum with
 * the index checksum) is written at close, with index_version 3; an index closed without it is
 * version 2. Collective like create. */
chr_status chr_index_writer_put_duplicates(chr_index_writer *w, const chr_dups *d, int mine,
                                           uint64_t checksum, hid_t dxpl, chr_error *err);

/* Records that /image_ids, of fingerprint fp (chr_dataset_ids_fingerprint, not 0), was found
 * unique: written at close as the attribute ids_checksum. */
void chr_index_writer_set_ids(chr_index_writer *w, uint64_t fp);

/* Writes the attributes (the index's, /histograms' index_checksum and the root
 * format_version 2) and closes the file; sets *p = NULL. Collective like create. */
chr_status chr_index_writer_close(chr_index_writer **p, uint64_t checksum, chr_error *err);

/* Closes without finishing, ignoring errors (the caller removes the file). Accepts NULL. */
void chr_index_writer_abandon(chr_index_writer **p);

#endif
