"""Stored-index (format 2) variants of data/fixtures/small.h5 for cases/index.json.

The index is written here with h5py and numpy alone, from the format's description in
include/chromatica/dataset_index.h (CSR rows, binary16 root columns, the checksum), so the
corpus also checks that another tool can produce an index the search accepts. Each stale or
broken variant changes one thing of that good file. It is an index_version 1 index (no
cascade summaries), which a search still accepts by computing them; summaries.py covers
version 2."""
import os
import shutil

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SMALL = os.path.join(HERE, "..", "..", "..", "data", "fixtures", "small.h5")
M = (1 << 64) - 1


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


def row_term(row, bins, mass):
    key = mix64((row + 0x9E3779B97F4A7C15) & M)
    h = mix64(key ^ len(bins))
    for b, bits in zip(bins.tolist(), mass.view(np.uint32).tolist()):
        h = (h + mix64(key ^ ((b << 32) | bits))) & M
    return h


def add_index(path):
    with h5py.File(path, "r+") as f:
        hist = f["histograms"][...]
        n = hist.shape[0]
        offsets = np.zeros(n + 1, np.int64)
        bins, mass, checksum = [], [], 0
        for r in range(n):
            nz = np.nonzero(hist[r] != 0)[0].astype(np.uint16)
            bins.append(nz)
            mass.append(hist[r][nz].astype(np.float32))
            offsets[r + 1] = offsets[r] + len(nz)
            checksum = (checksum + row_term(r, nz, mass[-1])) & M
        roots = np.sqrt(hist.astype(np.float64)).astype(np.float32).astype(np.float16)
        g = f.create_group("index")
        g["offsets"] = offsets
        g["bins"] = np.concatenate(bins)
        g["mass"] = np.concatenate(mass)
        g["roots"] = np.ascontiguousarray(roots.T).view(np.uint16)
        g.attrs["index_version"] = np.int32(1)
        g.attrs["rows"] = np.int64(n)
        g.attrs["bins"] = np.int32(hist.shape[1])
        g.attrs["nnz"] = np.int64(offsets[-1])
        g.attrs["checksum"] = np.uint64(checksum)
        f["histograms"].attrs["index_checksum"] = np.uint64(checksum)
        f.attrs["format_version"] = np.int32(2)


def variant(out_dir, name, change):
    path = os.path.join(out_dir, name + ".h5")
    shutil.copy(os.path.join(out_dir, "good.h5"), path)
    with h5py.File(path, "r+") as f:
        change(f)


def rewrite_in_place(f):
    h = f["histograms"][...]
    f["histograms"][...] = np.roll(h, 1, axis=1)  # every row still sums to 1


def recreate(f):
    h = f["histograms"][...]
    del f["histograms"]
    f["histograms"] = h


def truncate_bins(f):
    b = f["index/bins"][...]
    del f["index/bins"]
    f["index/bins"] = b[:-1]


def edit_mass(f):
    m = f["index/mass"][...]
    m[10] = np.nextafter(m[10], np.float32(1))
    f["index/mass"][...] = m


def generate(out_dir):
    good = os.path.join(out_dir, "good.h5")
    shutil.copy(SMALL, good)
    add_index(good)
    variant(out_dir, "rewritten_in_place", rewrite_in_place)
    variant(out_dir, "recreated", recreate)
    variant(out_dir, "truncated_bins", truncate_bins)
    variant(out_dir, "wrong_version", lambda f: f["index"].attrs.modify("index_version", np.int32(4)))
    variant(out_dir, "mass_edited", edit_mass)
    variant(out_dir, "roots_zeroed", lambda f: f["index/roots"].__setitem__(Ellipsis, 0))
    variant(out_dir, "v1_with_index", lambda f: f.attrs.modify("format_version", np.int32(1)))
    variant(out_dir, "other_rows", lambda f: f["index"].attrs.modify("rows", np.int64(399)))
    readonly = os.path.join(out_dir, "readonly.h5")
    shutil.copy(SMALL, readonly)
    os.chmod(readonly, 0o444)
    with open(os.path.join(out_dir, "not_hdf5.h5"), "w") as f:
        f.write("not an HDF5 file\n")
    size = os.path.getsize(good)
    with open(good, "rb") as src, open(os.path.join(out_dir, "cut.h5"), "wb") as dst:
        dst.write(src.read(size - 200000))
