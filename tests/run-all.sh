#!/usr/bin/env bash
# The test command: install what is missing, build, run every ctest test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CHR_BUILD_DIR:-$root/build}"
bash "$root/jobs/setup.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$build"
ctest --output-on-failure "$@"
