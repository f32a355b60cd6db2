#!/usr/bin/env bash
# integration_report_html: `chromatica report` seen in a real browser. Builds a dataset from the
# fixture images, searches it (one query fails on purpose), makes one image unreadable after the
# build, renders the page and opens it in headless Chromium (screenshot and --dump-dom);
# report_html_check.py then checks thumbnails, non-blankness, rank order and the absence of any
# script. Exit 77 (skipped) when Chromium is not installed.
# usage: report_html.sh CHROMATICA FIXTURE_IMAGES WORKDIR
set -euo pipefail
bin="$1"
fixtures="$2"
work="$3"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "SKIP: chromium is not installed (jobs/setup.sh installs Debian's chromium package)"
  exit 77
fi
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

rm -rf "$work"
mkdir -p "$work/images"
cp "$fixtures"/*.png "$fixtures"/*.bmp "$fixtures"/*.gif "$fixtures"/*.webp "$fixtures"/*.jpg \
  "$work/images/"
"$bin" build "$work/images" -o "$work/ds.h5" >"$work/build.txt" 2>"$work/build.err" ||
  fail "build: $(cat "$work/build.err")"
cat >"$work/batch.json" <<'JSON'
{"queries": [
  {"id": "red <&> \"quoted\"", "colors": ["#ff0000"], "k": 5},
  {"id": "green-blue", "colors": "00ff00,0000ff", "weights": "0.7,0.3", "k": 5},
  {"id": "broken", "colors": "notacolour", "k": 5},
  {"id": "grey", "colors": "808080", "k": 3}
]}
JSON
"$bin" search --dataset "$work/ds.h5" --queries "$work/batch.json" --out "$work/report.json" \
  >"$work/search.txt" 2>"$work/search.err" || fail "search: $(cat "$work/search.err")"
# An image that decoded at build time but no longer does: it must become a placeholder.
printf 'no longer a png' >"$work/images/two_colour.png"
"$bin" report "$work/report.json" --images "$work/images" -o "$work/page.html" \
  >"$work/report.txt" 2>"$work/report.err" || fail "report: $(cat "$work/report.err")"
grep -q "two_colour.png" "$work/report.err" || fail "no warning about the unreadable image"

# Chromium's own log lines (dbus, GPU) go to stderr; what matters is its exit code and outputs.
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$work/profile")
timeout 180 "$browser" "${flags[@]}" --screenshot="$work/shot.png" --window-size=1200,2000 \
  "file://$work/page.html" >"$work/shot.log" 2>&1 || fail "chromium --screenshot: $(tail -5 "$work/shot.log")"
timeout 180 "$browser" "${flags[@]}" --dump-dom "file://$work/page.html" >"$work/dom.html" \
  2>"$work/dom.log" || fail "chromium --dump-dom: $(tail -5 "$work/dom.log")"
/usr/bin/python3 "$here/report_html_check.py" "$work/report.json" "$work/page.html" \
  "$work/dom.html" "$work/shot.png" "$work/dom.log"

# The eval page: chromatica eval on the same dataset (the invalid query listed), rendered by the
# same command, seen in Chromium; report_html_check.py --eval checks the plot and the table.
"$bin" eval --dataset "$work/ds.h5" --queries "$work/batch.json" --out "$work/eval.json" \
  >"$work/eval.txt" 2>"$work/eval.err" || fail "eval: $(cat "$work/eval.err")"
"$bin" report "$work/eval.json" -o "$work/eval.html" >"$work/eval_report.txt" \
  2>"$work/eval_report.err" || fail "report of the eval: $(cat "$work/eval_report.err")"
grep -q "eval report" "$work/eval_report.txt" || fail "report did not say it drew an eval report"
timeout 180 "$browser" "${flags[@]}" --screenshot="$work/eval_shot.png" --window-size=1200,1100 \
  "file://$work/eval.html" >"$work/eval_shot.log" 2>&1 ||
  fail "chromium --screenshot (eval): $(tail -5 "$work/eval_shot.log")"
timeout 180 "$browser" "${flags[@]}" --dump-dom "file://$work/eval.html" >"$work/eval_dom.html" \
  2>"$work/eval_dom.log" || fail "chromium --dump-dom (eval): $(tail -5 "$work/eval_dom.log")"
/usr/bin/python3 "$here/report_html_check.py" --eval "$work/eval.json" "$work/eval.html" \
  "$work/eval_dom.html" "$work/eval_shot.png" "$work/eval_dom.log"
echo "integration_report_html: ok"
