"""Index-version-2 variants of data/fixtures/small.h5 for cases/summaries.json: the cascade's
per-image summaries (/index/centroid float32 [3, N], /index/cdf uint8 [29, N]) stored but wrong
or missing. The rest of the index is index.py's valid one (a version-1 index, which a search
accepts by computing the summaries itself)."""
import importlib.util
import os
import shutil

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SMALL = os.path.join(HERE, "..", "..", "..", "data", "fixtures", "small.h5")


def index_module():
    spec = importlib.util.spec_from_file_location("index_gen", os.path.join(HERE, "index.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def version2(path, centroid=True, cdf=True):
    """Makes path's version-1 index a version-2 one with zero summaries (not those of its rows)."""
    with h5py.File(path, "r+") as f:
        n = f["histograms"].shape[0]
        if centroid:
            f["index"].create_dataset("centroid", data=np.zeros((3, n), np.float32))
        if cdf:
            f["index"].create_dataset("cdf", data=np.zeros((29, n), np.uint8))
        f["index"].attrs.modify("index_version", np.int32(2))


def generate(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    good = os.path.join(out_dir, "v1.h5")
    shutil.copy(SMALL, good)
    index_module().add_index(good)
    for name, kwargs in (("zeroed", {}), ("no_cdf", {"cdf": False})):
        path = os.path.join(out_dir, name + ".h5")
        shutil.copy(good, path)
        version2(path, **kwargs)
