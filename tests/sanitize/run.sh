#!/usr/bin/env bash
# The sanitizer build: configures and builds the project with ASan + UBSan into its own folder
# (${CHR_BUILD_DIR:-build}-sanitize) and runs the unit tests, the MPI determinism test and part of the bad-input corpus there.
# Open MPI's own leaks are suppressed (tests/sanitize/lsan.supp); leaks, memory errors and
# undefined behaviour in Chromatica's code fail the run. Called by tests/run-all.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${CHR_BUILD_DIR:-$root/build}-sanitize"
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHR_SANITIZE=ON \
  -DCHR_WERROR="$werror" >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
# Full unwinding on malloc: Open MPI is built without frame pointers, and the suppressions
# match on the libraries in the allocation stacks.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:exitcode=86:fast_unwind_on_malloc=0"
export LSAN_OPTIONS="suppressions=$root/tests/sanitize/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Keep MCA plugins loaded until exit, so LeakSanitizer can name (and suppress) their allocations.
export OMPI_MCA_mca_base_component_disable_dlclose=1
cd "$build"
echo "sanitize: unit and MPI tests under ASan + UBSan ($build)"
ctest --output-on-failure -L unit
ctest --output-on-failure -R "mpi_determinism"
# The bad-input corpus's newer areas (outputs that are inputs and temporary files, dataset strings
# that are not UTF-8, Sinkhorn numbers) under the sanitizers too; the whole corpus takes about an
# hour this way (every case starts MPI under ASan), so the older cases run in the plain build only.
echo "sanitize: bad-input corpus (outputs, strings, numbers) under ASan + UBSan"
CHR_CORPUS_TIMEOUT_SCALE=4 /usr/bin/python3 "$root/tests/bad_input/run_corpus.py" \
  "$build/chromatica" "$build/tests/bad_input_work" --only outputs/,strings/,numbers/
