"""Writes a copy of the fixture dataset in which some rows are exact copies of others: three
groups whose members lie in different shards at 2 and 3 ranks (rows 5 <- 140, 141, 290, 395;
rows 60 <- 61, 250; rows 399 <- 398), so collapsing needs the cross-shard exchange.

usage: make_duplicates.py FIXTURE.h5 OUT.h5"""
import sys

import h5py

GROUPS = {5: [140, 141, 290, 395], 60: [61, 250], 398: [399]}

with h5py.File(sys.argv[1], "r") as src, h5py.File(sys.argv[2], "w") as out:
    for key, value in src.attrs.items():
        out.attrs[key] = value
    for name in src:
        data = src[name][:]
        if name in ("histograms", "palettes", "palette_weights"):
            for lead, copies in GROUPS.items():
                for c in copies:
                    data[c] = data[lead]
        out.create_dataset(name, data=data)
