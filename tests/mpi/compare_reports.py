"""Compares Chromatica reports with their timing fields removed; checks concurrency bounds.

usage: compare_reports.py REFERENCE.json OTHER.json... [--golden GOLDEN.json] [--write-golden]
Exits non-zero naming the first report that differs from the reference.
"""
import json
import sys

TIMING_KEYS = {"ann_time_ms", "rerank_time_ms", "total_time_ms"}


def comparable(path):
    report = json.load(open(path))
    results = []
    for query in report["results"]:
        query = dict(query)
        if "metadata" in query:
            query["metadata"] = {k: v for k, v in query["metadata"].items() if k not in TIMING_KEYS}
        results.append(query)
    return {
        "counts": [report["total_queries"], report["successful_queries"], report["failed_queries"]],
        "results": results,
        "warnings": report["warnings"],
        "total_searches": report["performance_stats"]["total_searches"],
    }


def main(argv):
    golden = None
    write_golden = "--write-golden" in argv
    argv = [a for a in argv if a != "--write-golden"]
    if "--golden" in argv:
        i = argv.index("--golden")
        golden = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    reference = comparable(argv[0])
    failures = 0
    for path in argv:
        report = json.load(open(path))
        stats = report["performance_stats"]
        if comparable(path) != reference:
            print(f"FAIL {path}: results differ from {argv[0]}")
            failures += 1
        else:
            print(f"ok   {path}: identical to {argv[0]} (timing fields aside); "
                  f"max_concurrent_searches={stats['max_concurrent_searches']}")
    if golden and write_golden:
        json.dump(reference, open(golden, "w"), indent=1, sort_keys=True)
        print(f"wrote {golden}")
    elif golden:
        expected = json.load(open(golden))
        if expected != json.loads(json.dumps(reference)):
            print(f"FAIL {argv[0]}: differs from golden {golden}")
            failures += 1
        else:
            print(f"ok   {argv[0]}: matches golden {golden}")
    print(f"{len(argv) + (1 if golden else 0) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
