#!/usr/bin/env bash
# README's option table is the output of `chromatica search --options`, which prints the option
# table the batch parser reads (src/core/options.c): a row changed in one place fails here.
# usage: options_table.sh CHROMATICA README.md
set -euo pipefail
bin=$1 readme=$2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
want=$("$bin" search --options)
got=$(sed -n '/^<!-- options: chromatica search --options -->$/,/^<!-- \/options -->$/p' "$readme" |
      sed '1d;$d')
if [ -z "$got" ]; then
  echo "options_table: no block between the option-table markers in $readme" >&2
  exit 1
fi
if [ "$want" != "$got" ]; then
  echo "options_table: README's option table differs from 'chromatica search --options':" >&2
  diff <(printf '%s\n' "$got") <(printf '%s\n' "$want") >&2 || true
  exit 1
fi
echo "options_table: README's table equals 'chromatica search --options' ($(printf '%s\n' "$want" | wc -l) lines)"
