"""Index-version-3 variants of data/fixtures/small.h5 for cases/h1_index.json: the stored
duplicate groups (/index/duplicates int64 [D, 2], attributes duplicates = D and
duplicates_checksum) missing, of the wrong type or shape, stale, foreign or out of order.

The base is index.py's valid index with summaries.py's (zero) summaries, made version 3 with
three pairs stored for rows that are not copies: every case here is refused before the rows
are compared or the summaries sampled, by the checks of the stored groups themselves."""
import importlib.util
import os
import shutil

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SMALL = os.path.join(HERE, "..", "..", "..", "data", "fixtures", "small.h5")
M = (1 << 64) - 1
PAIRS = [(140, 5), (141, 5), (61, 60)]  # (row, representative), ordered by (rep, row)


def module(name):
    spec = importlib.util.spec_from_file_location(name + "_gen", os.path.join(HERE, name + ".py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def dups_checksum(pairs, index_checksum):
    """chr_dups_checksum (src/core/duplicates.c): chained over n and every (row, rep)."""
    mix64 = module("index").mix64
    h = mix64(index_checksum ^ 0x6475706C69636174)
    h = mix64(h ^ len(pairs))
    for row, rep in pairs:
        h = mix64(mix64(h ^ row) ^ rep)
    return h


def store(f, pairs, checksum=None, dtype=np.int64):
    """Writes pairs as /index/duplicates with a fingerprint for checksum (the index's when None)."""
    if "duplicates" in f["index"]:
        del f["index/duplicates"]
    f["index"].create_dataset("duplicates", data=np.array(pairs, dtype).reshape(len(pairs), 2))
    if checksum is None:
        checksum = int(f["index"].attrs["checksum"])
    f["index"].attrs["duplicates"] = np.int64(len(pairs))
    f["index"].attrs["duplicates_checksum"] = np.uint64(dups_checksum(pairs, checksum))
    f["index"].attrs.modify("index_version", np.int32(3))


def variant(out_dir, name, change):
    path = os.path.join(out_dir, name + ".h5")
    shutil.copy(os.path.join(out_dir, "v3.h5"), path)
    with h5py.File(path, "r+") as f:
        change(f)


def edit_pair(f):
    d = f["index/duplicates"][...]
    d[1, 0] = 142  # still ordered: the fingerprint, not the shape, refuses it
    f["index/duplicates"][...] = d


def stale_ids(f):
    """Ids made non-unique after indexing, under a recorded fingerprint they no longer give."""
    ids = f["image_ids"][...]
    ids[1] = ids[0]
    f["image_ids"][...] = ids
    f["index"].attrs["ids_checksum"] = np.uint64(12345)


def drop_attr(f):
    del f["index"].attrs["duplicates_checksum"]


def generate(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    good = os.path.join(out_dir, "v3.h5")
    shutil.copy(SMALL, good)
    module("index").add_index(good)
    module("summaries").version2(good)
    with h5py.File(good, "r+") as f:
        store(f, PAIRS)
    variant(out_dir, "no_dataset", lambda f: f.__delitem__("index/duplicates"))
    variant(out_dir, "float_pairs", lambda f: store(f, PAIRS, dtype=np.float64))
    variant(out_dir, "no_attr", drop_attr)
    variant(out_dir, "count_mismatch", lambda f: f["index"].attrs.modify("duplicates", np.int64(2)))
    variant(out_dir, "edited", edit_pair)
    variant(out_dir, "foreign", lambda f: store(f, PAIRS, checksum=12345))
    variant(out_dir, "unordered", lambda f: store(f, [(141, 5), (140, 5), (61, 60)]))
    variant(out_dir, "stale_ids", stale_ids)
    variant(out_dir, "chained", lambda f: store(f, [(140, 5), (141, 140)]))
