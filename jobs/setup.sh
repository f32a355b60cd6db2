#!/usr/bin/env bash
# Installs the Debian packages Chromatica needs (only those missing), then configures and
# builds into ${CHR_BUILD_DIR:-build}. Used by both quick-start commands; extra package names
# given as arguments are installed too (the main job adds openclipart-png).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CHR_BUILD_DIR:-$root/build}"

packages=(build-essential cmake pkg-config libopenmpi-dev openmpi-bin libhdf5-openmpi-dev
          hdf5-tools libcjson-dev libcmocka-dev libstb-dev libwebp-dev
          python3-numpy python3-h5py python3-pot python3-skimage
          slurmctld slurmd slurm-client munge gnuplot-nox python3-faiss libopenblas0-pthread
          clang clang-format libomp-14-dev chromium "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq -o DPkg::Lock::Timeout=600
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=600 "${missing[@]}"
fi

werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCHR_WERROR="$werror" >/dev/null
cmake --build "$build" -j "$(nproc)"
