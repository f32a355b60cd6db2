#!/usr/bin/env bash
# The fuzz pass: builds the libFuzzer harnesses (clang, with ASan + UBSan) for the batch parser,
# the query parser and the strict JSON check (against cJSON), and runs each for a bounded time
# from the committed seed corpus (tests/fuzz/corpus; new inputs go to a scratch copy, never into
# the repository). A crash, leak or undefined behaviour fails the pass and leaves the input in
# the scratch folder.
# usage: run.sh [SECONDS_PER_HARNESS]   (default 20). Called by tests/run-all.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seconds="${1:-20}"
out="${CHR_BUILD_DIR:-$root/build}-fuzz"
mkdir -p "$out"
if ! command -v clang >/dev/null; then
  echo "fuzz: skipped: clang is not installed"
  exit 0
fi
flags=(-g -O1 -std=c11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -fopenmp -I"$root/include")
core=("$root"/src/core/*.c)
clang "${flags[@]}" "$root/tests/fuzz/fuzz_batch.c" "$root/src/io/batch.c" \
  "$root/src/io/textfile.c" "$root/src/io/paths.c" \
  "$root/src/io/json_check.c" "$root/src/io/utf8.c" "${core[@]}" -lcjson -lm -o "$out/fuzz_batch"
clang "${flags[@]}" "$root/tests/fuzz/fuzz_query.c" "${core[@]}" -lm -o "$out/fuzz_query"
clang "${flags[@]}" "$root/tests/fuzz/fuzz_json_check.c" "$root/src/io/json_check.c" "$root/src/io/utf8.c" \
  "$root/src/core/error.c" -lcjson -lm -o "$out/fuzz_json_check"
passed=0
failed=0
for name in batch query json_check; do
  corpus="$out/corpus_$name"
  rm -rf "$corpus"
  mkdir -p "$corpus"
  cp "$root/tests/fuzz/corpus/$name"/* "$corpus/"
  if (cd "$out" && "./fuzz_$name" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 "$corpus" >"$out/fuzz_$name.log" 2>&1); then
    echo "ok   fuzz_$name: $(grep -m1 'stat::number_of_executed_units' "$out/fuzz_$name.log" | \
         awk '{print $2}') inputs in ${seconds} s, no crash"
    passed=$((passed + 1))
  else
    echo "FAIL fuzz_$name: see $out/fuzz_$name.log"
    tail -40 "$out/fuzz_$name.log"
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
