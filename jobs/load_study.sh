#!/usr/bin/env bash
# The load study (issue 6): installs what is missing (gnuplot for the plots), builds, then runs
# jobs/load_study.py with the study in jobs/load_study.json. Arguments go to load_study.py,
# e.g. `bash jobs/load_study.sh --datasets 10000 --batches 20 --repeats 1` for a quick look.
# Results: data/load-study/{results.csv,service.csv,machine.txt,*.png,*.svg}; the synthetic
# datasets (up to 1M images, 4.6 GB) are kept in data/load-study/datasets/ for reuse.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/jobs/setup.sh" gnuplot-nox
/usr/bin/python3 "$root/jobs/load_study.py" --bin "${CHR_BUILD_DIR:-$root/build}/chromatica" "$@"
