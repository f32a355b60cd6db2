"""Datasets, files and folders whose strings are not UTF-8 or differ only in trailing spaces,
and datasets compressed with a filter this HDF5 lacks (lzf). Made from the first 10 rows of
data/fixtures/small.h5, so a query with the default k = 10 lists every id in its report.

Invalid UTF-8 classes used (each must appear in reports as \\xNN, one escape per byte, as
Python's 'backslashreplace' writes them): bytes ff fe, Latin-1 e9, an overlong form (c0 af),
a lone continuation byte (80), a UTF-16 surrogate encoded in UTF-8 (ed a0 80) and a 4-byte
sequence above U+10FFFF (f4 90 80 80)."""
import os
import shutil

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
SMALL = os.path.join(ROOT, "data", "fixtures", "small.h5")
RED = os.path.join(ROOT, "tests", "fixtures", "images", "solid_red.png")
ROWS = 10

BAD_IDS = [b"\xff\xfebad", b"caf\xe9", b"over\xc0\xaf", b"cont\x80", b"surr\xed\xa0\x80",
           b"big\xf4\x90\x80\x80", b"ok6", b"ok7", b"ok8", b"ok9"]
BAD_PATHS = [b"p/\xff\xfe.png", b"p/caf\xe9.png", b"p/over\xc0\xaf.png", b"p/cont\x80.png",
             b"p/surr\xed\xa0\x80.png", b"p/big\xf4\x90\x80\x80.png", b"p/6.png", b"p/7.png",
             b"p/8.png", b"p/9.png"]
DUP_IDS = [b"dup", b"dup "] + [b"d%d" % i for i in range(2, ROWS)]
DUP_PATHS = [b"p/dup.png", b"p/dup_space.png"] + [b"p/d%d.png" % i for i in range(2, ROWS)]


def _copy_base(f, skip=()):
    """The attributes and the first ROWS rows of small.h5's numeric datasets."""
    with h5py.File(SMALL, "r") as src:
        for k, v in src.attrs.items():
            f.attrs[k] = v
        for name in ["histograms", "palettes", "palette_weights"]:
            if name not in skip:
                f[name] = src[name][:ROWS]


def _fixed(f, name, values, pad):
    """A fixed-length string dataset with the given H5T_STR_* padding."""
    size = max(len(v) for v in values) + 1
    tid = h5py.h5t.C_S1.copy()
    tid.set_size(size)
    tid.set_strpad(pad)
    space = h5py.h5s.create_simple((len(values),))
    dset = h5py.h5d.create(f.id, name.encode(), tid, space)
    data = np.array(values, dtype="S%d" % size)  # numpy pads with NULs; HDF5 converts them
    dset.write(h5py.h5s.ALL, h5py.h5s.ALL, data)


def _vlen(f, name, values):
    f.create_dataset(name, data=np.array(values, dtype=object),
                     dtype=h5py.special_dtype(vlen=bytes))


def _dataset(path, ids, paths, kind):
    with h5py.File(path, "w") as f:
        _copy_base(f)
        for name, values in [("image_ids", ids), ("file_paths", paths)]:
            if kind == "vlen":
                _vlen(f, name, values)
            else:
                _fixed(f, name, values, kind)


def _lzf(path, target):
    with h5py.File(path, "w") as f:
        _copy_base(f, skip=[target])
        with h5py.File(SMALL, "r") as src:
            for name in ["image_ids", "file_paths"]:
                if name != target:
                    f[name] = src[name][:ROWS]
            f.create_dataset(target, data=src[target][:ROWS], chunks=True, compression="lzf")


def _build_set(out):
    """A folder named set<e9> holding caf<e9>.png (an image) and bad<ff>.png (not one)."""
    folder = os.path.join(os.fsencode(out), b"set\xe9")
    os.makedirs(folder, exist_ok=True)
    with open(RED, "rb") as f:
        png = f.read()
    for name, data in [(b"caf\xe9.png", png), (b"bad\xff.png", b"not an image\n")]:
        fd = os.open(os.path.join(folder, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, data)
        os.close(fd)


def generate(out):
    nullpad, spacepad, nullterm = (h5py.h5t.STR_NULLPAD, h5py.h5t.STR_SPACEPAD,
                                   h5py.h5t.STR_NULLTERM)
    _dataset(os.path.join(out, "bad_utf8_fixed.h5"), BAD_IDS, BAD_PATHS, nullpad)
    _dataset(os.path.join(out, "bad_utf8_vlen.h5"), BAD_IDS, BAD_PATHS, "vlen")
    # the same dataset under a file name that is Latin-1 (b'caf\xe9.h5')
    shutil.copy(os.path.join(out, "bad_utf8_fixed.h5"), os.path.join(os.fsencode(out), b"caf\xe9.h5"))
    _dataset(os.path.join(out, "dup_space_nullpad.h5"), DUP_IDS, DUP_PATHS, nullpad)
    _dataset(os.path.join(out, "dup_space_nullterm.h5"), DUP_IDS, DUP_PATHS, nullterm)
    _dataset(os.path.join(out, "dup_space_vlen.h5"), DUP_IDS, DUP_PATHS, "vlen")
    _dataset(os.path.join(out, "dup_space_spacepad.h5"), DUP_IDS, DUP_PATHS, spacepad)
    pad_ids = [b"pad  "] + DUP_IDS[2:] + [b"last"]
    _dataset(os.path.join(out, "spacepad_trailing.h5"), pad_ids, DUP_PATHS, spacepad)
    latin1_ids = [b"caf\xe9", b"caf\xe9"] + DUP_IDS[2:]
    _dataset(os.path.join(out, "dup_latin1.h5"), latin1_ids, DUP_PATHS, nullpad)
    _lzf(os.path.join(out, "lzf_histograms.h5"), "histograms")
    _lzf(os.path.join(out, "lzf_image_ids.h5"), "image_ids")
    _build_set(out)
