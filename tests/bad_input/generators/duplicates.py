"""Inputs for the duplicates and eval-page cases (tests/bad_input/cases/duplicates.json): batches
with bad collapse_duplicates values, a fixture copy with duplicate rows, and eval reports that
`chromatica report` must refuse (or draw)."""
import json
import os

import h5py


def _mode(name, mean=0.9, low=0.5, ms=2.0):
    return {"mode": name, "queries": 3, "recall_at_k_mean": mean, "recall_at_k_min": low,
            "latency_ms": {"total": {"mean": ms, "p95": ms}}}


def _eval(modes):
    return {"dataset": "x.h5", "queries": "q.json", "images": 10, "truth": "exact",
            "total_queries": 3, "valid_queries": 3, "invalid_queries": [], "modes": modes}


def generate(out_dir):
    here = os.path.dirname(os.path.abspath(__file__))
    fixture = os.path.join(here, "..", "..", "..", "data", "fixtures", "small.h5")
    with h5py.File(fixture, "r") as src, h5py.File(os.path.join(out_dir, "dups.h5"), "w") as out:
        for key, value in src.attrs.items():
            out.attrs[key] = value
        for name in src:
            data = src[name][:]
            if name in ("histograms", "palettes", "palette_weights"):
                for copy in (100, 200, 300):
                    data[copy] = data[7]
            out.create_dataset(name, data=data)
    batches = {
        "per_query": {"queries": [
            {"id": "string", "colors": "ff0000", "collapse_duplicates": "yes"},
            {"id": "number", "colors": "ff0000", "collapse_duplicates": 1},
            {"id": "null", "colors": "ff0000", "collapse_duplicates": None},
            {"id": "array", "colors": "ff0000", "collapse_duplicates": [True]},
            {"id": "off", "colors": "ff0000", "collapse_duplicates": False},
            {"id": "on", "colors": "ff0000", "collapse_duplicates": True}]},
        "batch_level": {"queries": [{"colors": "ff0000"}],
                        "options": {"collapse_duplicates": "no"}},
        "batch_level_off": {"queries": [{"id": "row7", "colors": "f61ff5", "k": 50}],
                            "options": {"collapse_duplicates": False}},
        "batch_level_on": {"queries": [{"id": "row7", "colors": "f61ff5", "k": 50}]},
    }
    for name, batch in batches.items():
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(batch, f)
    evals = {
        "modes_not_array": dict(_eval([]), modes="fast"),
        "mode_not_object": _eval([_mode("a"), 3]),
        "mode_without_name": _eval([{k: v for k, v in _mode("a").items() if k != "mode"}]),
        "recall_above_one": _eval([_mode("a"), _mode("b", mean=1.5)]),
        "recall_nan_text": _eval([_mode("a", low="NaN")]),
        "min_above_mean": _eval([_mode("a", mean=0.4, low=0.6)]),
        "latency_missing": _eval([{k: v for k, v in _mode("a").items() if k != "latency_ms"}]),
        "latency_negative": _eval([_mode("a", ms=-1.0)]),
        "valid": _eval([_mode("fast <b>", 0.2, 0.0, 0.01), _mode("exact", 1.0, 1.0, 250.0),
                        _mode("zero cost", 0.5, 0.5, 0.0)]),
    }
    for name, report in evals.items():
        with open(os.path.join(out_dir, "eval_" + name + ".json"), "w") as f:
            json.dump(report, f)
