#!/usr/bin/env python3
"""Recall@k against cost for every mode of one or more `chromatica eval` reports (README,
"Answers on real images"): x = milliseconds of search phase per query (1000 / queries_per_second),
y = mean recall@k; one series per report. Writes OUT.png and OUT.svg with gnuplot.

usage: plot_eval.py OUT EVAL.json [EVAL.json ...]
"""
import json
import os
import subprocess
import sys


def main(argv):
    out, reports = argv[1], argv[2:]
    data, plots = out + ".dat", []
    with open(data, "w") as f:
        for index, path in enumerate(reports):
            r = json.load(open(path))
            name = os.path.splitext(os.path.basename(r["dataset"]))[0]
            f.write(f"# {name} ({r['images']} images)\n")
            for m in r["modes"]:
                if m["mode"].startswith("fast"):
                    continue  # 0.2 recall at ~0.1 ms: off the useful part of the plot
                label = m["mode"].replace(" (truth)", "")
                f.write(f"{1000.0 / m['queries_per_second']:.3f} {m['recall_at_k_mean']:.4f} "
                        f"\"{label}\"\n")
            f.write("\n\n")
            plots.append(f"'{data}' index {index} using 1:2 with points pt {7 + index} ps 1.5 "
                         f"title '{name} ({r['images']} images)', '' index {index} using 1:2:3 "
                         f"with labels offset 1,{0.6 - 1.4 * index} font ',8' noenhanced notitle")
    for term, ext in [("pngcairo size 900,600", "png"), ("svg size 900,600", "svg")]:
        script = (f"set terminal {term}; set output '{out}.{ext}'; set logscale x;"
                  "set xlabel 'ms of search per query (2 ranks, log scale)';"
                  "set ylabel 'recall@10 against the exact EMD top-10' noenhanced; set yrange [0:1.08];"
                  "set key bottom right; set grid; plot " + ", ".join(plots))
        subprocess.run(["gnuplot", "-e", script], check=True)
    os.remove(data)
    print(f"plot_eval: wrote {out}.png and {out}.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
