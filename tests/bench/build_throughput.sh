#!/usr/bin/env bash
# bench_build: `chromatica build` throughput in images/s, median of 3 runs per configuration,
# measured side by side on the same folder. Prints figures; never fails on time.
# usage: build_throughput.sh CHROMATICA WORKDIR [IMAGE_DIR]
#   IMAGE_DIR defaults to 200 generated PNGs (8-520 pixels a side); pass
#   /usr/share/openclipart/png (package openclipart-png) for the default dataset's collection.
set -euo pipefail
bin="$1"
work="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
mpi=(mpirun --oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
rm -rf "$work"
mkdir -p "$work"
images="${3:-}"
if [ -z "$images" ]; then
  images="$work/images"
  "$py" "$here/../integration/image_reference.py" make "$images" 200
fi

# Runs one configuration 3 times; prints its median images/s and build-phase seconds.
measure() {
  local ranks="$1" threads="$2" label="$3"
  local rates=()
  for run in 1 2 3; do
    "${mpi[@]}" -np "$ranks" -x OMP_NUM_THREADS="$threads" "$bin" build "$images" --recursive \
      -o "$work/bench.h5" >/dev/null
    rates+=("$("$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["images_per_second"], d["timings_ms"]["build"] / 1e3, d["images_built"])' "$work/bench.h5.log.json")")
  done
  printf '%s\n' "${rates[@]}" | sort -g | sed -n 2p | {
    read -r rate seconds built
    printf '%-28s %6d images  %8.1f images/s  %7.2f s\n' "$label" "$built" "$rate" "$seconds"
  }
}

echo "bench_build: $(nproc) cores; folder $images; median of 3 runs"
measure 1 1 "1 rank x 1 thread"
measure 1 2 "1 rank x 2 threads"
measure 2 1 "2 ranks x 1 thread"
