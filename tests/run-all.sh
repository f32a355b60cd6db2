#!/usr/bin/env bash
# The test command: install what is missing, build, run every ctest test, then the unit and MPI
# tests again in an ASan + UBSan build (tests/sanitize/run.sh). Arguments go to the first ctest;
# CHR_SKIP_SANITIZE=1 skips the sanitizer pass (quick local runs).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CHR_BUILD_DIR:-$root/build}"
bash "$root/jobs/setup.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$build"
ctest --output-on-failure "$@"
[ "${CHR_SKIP_SANITIZE:-}" = "1" ] || bash "$root/tests/sanitize/run.sh"
