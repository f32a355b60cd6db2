#!/usr/bin/env bash
# The main job: install what is missing, build, make the default dataset if absent (the
# openclipart-png collection, about 6,900 public-domain PNGs, indexed with `chromatica build`),
# run the example batch with mpirun on 2 ranks, print where the report is, and render it as an
# HTML page next to it (chromatica report).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CHR_BUILD_DIR:-$root/build}"
dataset="${CHR_DATASET:-$root/data/default/openclipart.h5}"
images="${CHR_IMAGES:-/usr/share/openclipart/png}"
batch="${CHR_QUERIES:-$root/jobs/example.json}"
report="${CHR_REPORT:-$root/data/default/report.json}"
ranks="${CHR_RANKS:-2}"
extra=()
[ -z "${CHR_DATASET:-}" ] && [ -z "${CHR_IMAGES:-}" ] && extra+=(openclipart-png)
bash "$root/jobs/setup.sh" "${extra[@]}"
# Each rank runs its share of the node's CPUs by default; an OMP_NUM_THREADS given is passed on.
mpi_flags=(--oversubscribe --bind-to none)
[ -n "${OMP_NUM_THREADS:-}" ] && mpi_flags+=(-x OMP_NUM_THREADS)
[ "$(id -u)" -eq 0 ] && mpi_flags+=(--allow-run-as-root)
mkdir -p "$(dirname "$dataset")" "$(dirname "$report")"
if [ ! -f "$dataset" ]; then
  # 250 megapixels admits every drawing of the collection but the two 623-megapixel stop signs
  # (stb_image cannot decode more than 2^28 pixels); the build log lists what was skipped.
  echo "run-default: indexing $images into $dataset (once; about 30 s on 2 cores)"
  mpirun -np "$ranks" "${mpi_flags[@]}" "$build/chromatica" build "$images" --recursive \
    --max-pixels 250000000 -o "$dataset"
fi
mpirun -np "$ranks" "${mpi_flags[@]}" "$build/chromatica" search --dataset "$dataset" \
  --queries "$batch" --out "$report" "$@"
echo "run-default: the report is $report"
# The page people can look at, next to the report (thumbnails only when the images' folder is
# known: the default collection, or CHR_IMAGES).
page="${report%.json}.html"
image_args=()
if [ -z "${CHR_DATASET:-}" ] || [ -n "${CHR_IMAGES:-}" ]; then image_args=(--images "$images"); fi
"$build/chromatica" report "$report" "${image_args[@]}" -o "$page"
echo "run-default: the page is $page"
