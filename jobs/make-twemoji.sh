#!/usr/bin/env bash
# The second real collection used to judge the search (README, "Answers on real images"): the
# 3,786 Twemoji images (64 x 64 PNG, CC-BY 4.0 graphics) of the npm package
# emoji-datasource-twitter 16.0.0, fetched with `npm pack` and indexed with `chromatica build`
# into data/default/twemoji.h5 (once; about 2 s on 2 ranks). Prints the dataset's path.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CHR_BUILD_DIR:-$root/build}"
out="${CHR_DATASET:-$root/data/default/twemoji.h5}"
work="$root/data/default/twemoji"
ranks="${CHR_RANKS:-2}"
bash "$root/jobs/setup.sh"
if ! command -v npm >/dev/null; then
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 npm
fi
if [ ! -f "$out" ]; then
  mkdir -p "$work"
  if [ ! -d "$work/package/img/twitter/64" ]; then
    (cd "$work" && npm pack --silent emoji-datasource-twitter@16.0.0 >/dev/null &&
      tar xzf emoji-datasource-twitter-16.0.0.tgz)
  fi
  mpi_flags=(--oversubscribe --bind-to none -x OMP_NUM_THREADS=1)
  [ "$(id -u)" -eq 0 ] && mpi_flags+=(--allow-run-as-root)
  mpirun -np "$ranks" "${mpi_flags[@]}" "$build/chromatica" build \
    "$work/package/img/twitter/64" -o "$out"
fi
echo "make-twemoji: the dataset is $out"
