#!/usr/bin/env bash
# The test command: install what is missing, build, run every ctest test but the slow
# `stress` ones (ctest -L stress runs those), then the unit and MPI
# tests again in an ASan + UBSan build (tests/sanitize/run.sh), then 20 s of libFuzzer per parser
# (tests/fuzz/run.sh). Arguments go to the first ctest; CHR_SKIP_SANITIZE=1 skips the last two
# passes (quick local runs).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CHR_BUILD_DIR:-$root/build}"
bash "$root/jobs/setup.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$build"
ctest --output-on-failure -LE stress "$@"
if [ "${CHR_SKIP_SANITIZE:-}" != "1" ]; then
  bash "$root/tests/sanitize/run.sh"
  bash "$root/tests/fuzz/run.sh" 20
fi
