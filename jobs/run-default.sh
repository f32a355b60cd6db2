#!/usr/bin/env bash
# The main job: install what is missing, build, make the default dataset if absent, run the
# example batch with mpirun on 2 ranks, and print where the report is.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CHR_BUILD_DIR:-$root/build}"
dataset="${CHR_DATASET:-$root/data/default/synthetic-100k.h5}"
batch="${CHR_QUERIES:-$root/jobs/example.json}"
report="${CHR_REPORT:-$root/data/default/report.json}"
ranks="${CHR_RANKS:-2}"
bash "$root/jobs/setup.sh"
mpi_flags=(--oversubscribe --bind-to none -x OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}")
[ "$(id -u)" -eq 0 ] && mpi_flags+=(--allow-run-as-root)
mkdir -p "$(dirname "$dataset")" "$(dirname "$report")"
if [ ! -f "$dataset" ]; then
  echo "run-default: creating the default dataset $dataset (100,000 synthetic images, seed 1)"
  mpirun -np "$ranks" "${mpi_flags[@]}" "$build/chromatica" synth --images 100000 --seed 1 \
    -o "$dataset.partial"
  mv "$dataset.partial" "$dataset"
fi
mpirun -np "$ranks" "${mpi_flags[@]}" "$build/chromatica" search --dataset "$dataset" \
  --queries "$batch" --out "$report" "$@"
echo "run-default: the report is $report"
