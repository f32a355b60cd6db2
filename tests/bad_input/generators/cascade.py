"""Batches for the "cascade" cases (tests/bad_input/cases/cascade.json): the candidate stage
"cascade" (issue 14) asked for where it cannot run (metric sinkhorn, fast_mode), misspelt or of
the wrong type, per query and in options, next to cascade queries that are answered."""
import json
import os


def query(ident, **extra):
    q = {"id": ident, "colors": "ea6a81,f6d727", "k": 3}
    q.update(extra)
    return q


def generate(out):
    def write(name, doc):
        with open(os.path.join(out, name), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")

    write("per_query.json", {"queries": [
        query("ok-cascade", candidates="cascade"),
        query("cascade-sinkhorn", candidates="cascade", metric="sinkhorn"),
        query("cascade-fast", candidates="cascade", fast_mode=True),
        query("cascade-capital", candidates="Cascade"),
        query("cascade-number", candidates=3),
        query("cascade-null", candidates=None),
        query("cascade-k-above-pool", candidates="cascade", k=50, rerank_k=5),
        query("cascade-pool-above-images", candidates="cascade", rerank_k=1000),
    ]})
    write("options_sinkhorn.json", {"queries": [query("a"), query("b", metric="emd")],
                                    "options": {"candidates": "cascade", "metric": "sinkhorn"}})
    write("options_unknown.json", {"queries": [query("a")], "options": {"candidates": "cascades"}})
