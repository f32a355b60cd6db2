#!/usr/bin/env bash
# integration_output_failures (issue 13): `build` and `synth` on a full disk and when stopped.
# Whatever happens the old output stays byte-identical, no OUT.partial is left, the exit code
# is 1 (failure, with a message naming -o) or 4 (SIGTERM), and nothing crashes (HDF5 1.10 used
# to segfault in MPI_Finalize after a failed close). The full-disk part needs a small tmpfs,
# hence root: without it the script says why and exits 77 (skipped).
# usage: output_failures.sh CHROMATICA WORKDIR
set -uo pipefail
bin="$1"
work="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
images="$here/../fixtures/images"
rm -rf "$work"
mkdir -p "$work"
failures=0
mounted=""
cleanup() { [ -n "$mounted" ] && umount "$mounted" 2>/dev/null; }
trap cleanup EXIT

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# check NAME DIR EXPECTED_EXIT EXIT STDERR_FILE [TEXT]: the old output, leftovers, crashes.
check() {
  local name="$1" dir="$2" want="$3" got="$4" err="$5" text="${6:-}"
  [ "$got" = "$want" ] || fail "$name: exit $got (expected $want)"
  [ "$(cat "$dir/old.h5")" = "old content" ] || fail "$name: the old output was changed"
  if ls -a "$dir" | grep -q -e '\.partial$' -e '\.tmp\.[0-9]*$'; then
    fail "$name: temporary file left: $(ls -a "$dir" | grep -e partial -e tmp)"
  fi
  if grep -q -e Segmentation -e "Process received signal" -e "exited on signal" "$err"; then
    fail "$name: crash: $(grep -m1 -e Segmentation -e signal "$err")"
  fi
  [ -z "$text" ] || grep -qF -- "$text" "$err" || fail "$name: stderr lacks '$text': $(tail -2 "$err")"
  echo "ok $name"
}

# A folder of 300 small images for builds that take several rounds.
mkdir -p "$work/many"
for i in $(seq 1 300); do cp "$images/big_gradient.png" "$work/many/i$i.png"; done

# 1. SIGTERM while writing (no root needed): exit 4, the old output intact.
for cmd in build synth; do
  dir="$work/stop_$cmd"
  mkdir -p "$dir"
  echo "old content" >"$dir/old.h5"
  if [ "$cmd" = build ]; then
    "$bin" build "$work/many" -o "$dir/old.h5" --log "$work/stop_build.log.json" --chunk-files 2 \
      --progress >"$dir/../out_$cmd.txt" 2>"$dir/../err_$cmd.txt" &
  else
    "$bin" synth --images 3000000 -o "$dir/old.h5" >"$dir/../out_$cmd.txt" 2>"$dir/../err_$cmd.txt" &
  fi
  pid=$!
  for _ in $(seq 1 300); do ls "$dir" | grep -q partial && break; sleep 0.02; done
  sleep 0.3
  kill -TERM "$pid"
  wait "$pid"
  check "stop_$cmd" "$dir" 4 $? "$dir/../err_$cmd.txt" "stopped by SIGTERM"
done

# 2. A full disk: a 200k tmpfs is refused before any work; a disk filled while writing fails
#    cleanly (the reserve lets the file close).
if [ "$(id -u)" != 0 ]; then
  echo "skip: the full-disk checks need root to mount a tmpfs"
  [ "$failures" = 0 ] && exit 77
  exit 1
fi
disk="$work/disk"
mkdir -p "$disk"
if ! mount -t tmpfs -o size=200k tmpfs "$disk" 2>/dev/null; then
  echo "skip: cannot mount a tmpfs here"
  [ "$failures" = 0 ] && exit 77
  exit 1
fi
mounted="$disk"
echo "old content" >"$disk/old.h5"
"$bin" synth --images 1000 -o "$disk/old.h5" >/dev/null 2>"$work/err_small_synth.txt"
check "tiny_disk_synth" "$disk" 1 $? "$work/err_small_synth.txt" "-o $disk/old.h5: not enough free space"
"$bin" build "$images" -o "$disk/old.h5" --log "$work/tiny.log.json" >/dev/null 2>"$work/err_small_build.txt"
check "tiny_disk_build" "$disk" 1 $? "$work/err_small_build.txt" "-o $disk/old.h5: not enough free space"
umount "$disk"
mounted=""

if ! mount -t tmpfs -o size=40m tmpfs "$disk"; then fail "cannot mount a 40m tmpfs"; exit 1; fi
mounted="$disk"
for ranks in 1 2; do
  for cmd in synth build; do
    name="filled_${cmd}_np$ranks"
    rm -f "$disk/filler"
    echo "old content" >"$disk/old.h5"
    # Fill the disk as soon as the temporary file exists, so the writes themselves fail.
    ( for _ in $(seq 1 3000); do ls "$disk" | grep -q partial && break; sleep 0.005; done
      dd if=/dev/zero of="$disk/filler" bs=64k 2>/dev/null ) &
    filler=$!
    if [ "$cmd" = synth ]; then
      timeout 120 mpirun --oversubscribe -np "$ranks" "$bin" synth --images 6000 -o "$disk/old.h5" \
        >/dev/null 2>"$work/err_$name.txt"
    else
      timeout 120 mpirun --oversubscribe -np "$ranks" "$bin" build "$work/many" -o "$disk/old.h5" \
        --log "$work/$name.log.json" --chunk-files 4 >/dev/null 2>"$work/err_$name.txt"
    fi
    code=$?
    wait "$filler"
    check "$name" "$disk" 1 "$code" "$work/err_$name.txt" "-o $disk/old.h5: "
  done
done
rm -f "$disk/filler"
[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all output failure checks passed"
