#!/usr/bin/env python3
"""Runs the bad-input corpus (tests/bad_input/expected.json and cases/*.json) against the
chromatica executable.

usage: run_corpus.py CHROMATICA WORKDIR [--include-known-bad | --known-bad-only] [--only TEXT]
                     [--jobs N]
       run_corpus.py --make-images DIR      (rewrites the hand-made images of images/)

Every case names a command line (placeholders below), the exit code it must end with, text its
stderr must contain, and optionally: a report whose per-query outcomes are checked, files that
must (not) exist afterwards, files that must stay byte-identical (pre-created by the runner with
a sentinel text), files that must contain some text, values in JSON files (dotted keys, where a
number indexes a list; a missing key reads as null), extra
environment variables, and stdin.
Every case is also checked for a crash (a signal, "Segmentation", a sanitizer report) and for
temporary files left in its directory (NAME.tmp.PID, NAME.partial).

Generated inputs (HDF5 variants of data/fixtures/small.h5, huge and deeply nested batches,
special files) are made once per run under WORKDIR/generated. Cases marked "known_bad" describe
the behaviour the tool should have; they are skipped unless --include-known-bad is given (then
they are expected to fail until the tool is fixed; --known-bad-only runs just those). --only TEXT
runs the cases whose name contains TEXT (or one of several TEXTs, comma-separated); --jobs N runs N cases at once (default: CPUs, at most 4).
CHR_CORPUS_TIMEOUT_SCALE multiplies every timeout (for sanitizer builds).

Placeholders: {bin} the executable, {work} WORKDIR, {case} the case's own empty directory (also
its working directory), {gen} WORKDIR/generated, {data} data/fixtures/small.h5, {corpus} this
folder, {images} tests/fixtures/images. Generators of generators/NAME.py (generate(out_dir))
add {gen}/NAME for the cases that need "NAME".

Prints one line per case and ends with 'N passed, M failed'; exits 1 on any failure.
"""
import concurrent.futures
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, "data", "fixtures", "small.h5")
IMAGES = os.path.join(ROOT, "tests", "fixtures", "images")
SENTINEL = b"sentinel: an existing output that a failed run must leave untouched\n"
CRASH_PATTERNS = ["Segmentation", "Sanitizer", "runtime error:", "core dumped", "stack smashing",
                  "double free", "free(): invalid", "malloc(): ", "MPI_ABORT was invoked",
                  "exited on signal", "Aborted"]
TEMP_NAME = re.compile(r"\.tmp\.\d+$|\.partial$")
DEFAULT_TIMEOUT = 60


# ---------------------------------------------------------------- hand-made images (committed)

def _png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def _png(width, height, idat=b""):
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(idat)) + _png_chunk(b"IEND", b""))


def make_images(out):
    """The images of images/: headers that lie about sizes, too-short data, wrong names."""
    os.makedirs(out, exist_ok=True)
    files = {}
    with open(os.path.join(IMAGES, "huge_dimensions.png"), "rb") as f:
        files["huge_png_named.gif"] = f.read()  # PNG content, 100000 x 100000, .gif name
    files["png_zero_width.png"] = _png(0, 10)
    files["png_2e31.png"] = _png(0x7FFFFFFF, 0x7FFFFFFF)
    files["png_magic_only.png"] = b"\x89PNG\r\n\x1a\n"
    files["png_short_idat.png"] = _png(64, 64, b"\x00\xff")  # 64 x 64 but 2 bytes of pixels
    files["one_byte.jpg"] = b"\xff"
    files["gif_huge.gif"] = (b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\x80\x00\x00"
                             + b"\x00\x00\x00\xff\xff\xff" + b"\x2c"
                             + struct.pack("<HHHH", 0, 0, 65535, 65535) + b"\x00"
                             + b"\x02\x02\x44\x01\x00" + b"\x3b")
    info = struct.pack("<IiiHHIIiiII", 40, 60000, 60000, 1, 24, 0, 0, 2835, 2835, 0, 0)
    files["bmp_huge.bmp"] = b"BM" + struct.pack("<IHHI", 54, 0, 0, 54) + info
    info = struct.pack("<IiiHHIIiiII", 40, 4, -2147483648, 1, 24, 0, 0, 2835, 2835, 0, 0)
    files["bmp_int_min_height.bmp"] = (b"BM" + struct.pack("<IHHI", 54 + 48, 0, 0, 54) + info
                                       + b"\0" * 48)
    sof = (b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, 65535, 65535, 3)
           + b"\x01\x11\x00\x02\x11\x01\x03\x11\x01")
    files["jpeg_huge.jpg"] = b"\xff\xd8" + sof + b"\xff\xd9"
    bits = (16384 - 1) | ((16384 - 1) << 14) | (1 << 28)
    vp8l = b"\x2f" + struct.pack("<I", bits) + b"\x00" * 8
    riff = b"WEBP" + b"VP8L" + struct.pack("<I", len(vp8l)) + vp8l
    files["webp_huge.webp"] = b"RIFF" + struct.pack("<I", len(riff)) + riff
    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


# ---------------------------------------------------------------- generated inputs

def gen_batches(gen):
    out = os.path.join(gen, "batches")
    os.makedirs(out, exist_ok=True)

    def write(name, text):
        with open(os.path.join(out, name), "w") as f:
            f.write(text)

    ok = '{"id": "ok", "colors": "0f0"}'
    write("deep_nesting_10000.json", '{"queries": [{"id": "deep", "colors": "f00", "x": '
          + "[" * 10000 + "]" * 10000 + "}]}\n")
    # 3 levels (root, queries, query) + 990 stay under cJSON's limit of 1000
    write("deep_nesting_990.json", '{"queries": [{"id": "deep", "colors": "f00", "x": '
          + "[" * 990 + "]" * 990 + "}]}\n")
    write("huge_id_10mb.json", '{"queries": [{"id": "' + "a" * 10_000_000
          + '", "colors": "f00"}, ' + ok + "]}\n")
    write("huge_colors_10mb.json", '{"queries": [{"id": "huge", "colors": "' + "f" * 10_000_000
          + '"}, ' + ok + "]}\n")
    write("colors_list_1e6.json", '{"queries": [{"id": "many", "colors": "'
          + ",".join(["f00"] * 1_000_000) + '"}, ' + ok + "]}\n")
    write("colors_array_1e5.json", json.dumps(
        {"queries": [{"id": "many", "colors": ["f00"] * 100_000}, json.loads(ok)]}) + "\n")
    write("weights_list_1e6.json", '{"queries": [{"id": "many", "colors": "f00", "weights": "'
          + ",".join(["1"] * 1_000_000) + '"}, ' + ok + "]}\n")
    write("key_name_1mb.json", json.dumps(
        {"queries": [{"id": "ok", "colors": "f00", "k" * 1_000_000: 1}]}) + "\n")
    query = {"id": "ok", "colors": "f00"}
    query.update({f"unknown_{i:03d}": i for i in range(100)})
    write("unknown_keys_100.json", json.dumps({"queries": [query]}) + "\n")
    write("queries_1e6.json", '{"queries": [' + ",".join(['{"colors": "f00"}'] * 1_000_000)
          + "]}\n")
    write("queries_100001.json", '{"queries": [' + ",".join(['{"colors": "f00"}'] * 100_001)
          + "]}\n")
    write("queries_10000_fast.json", '{"queries": ['
          + ",".join(['{"colors": "f00", "k": 1, "fast_mode": true}'] * 10_000) + "]}\n")


def gen_datasets(gen):
    import h5py
    import numpy as np
    out = os.path.join(gen, "datasets")
    os.makedirs(out, exist_ok=True)

    def copy(name):
        path = os.path.join(out, name + ".h5")
        shutil.copy(DATA, path)
        return h5py.File(path, "r+")

    def rebuild(name, mutate):
        """A fresh file with every object of small.h5, after mutate(arrays, attrs)."""
        with h5py.File(DATA, "r") as src:
            arrays = {k: src[k][()] for k in src}
            attrs = dict(src.attrs)
        options = mutate(arrays, attrs) or {}
        with h5py.File(os.path.join(out, name + ".h5"), "w") as f:
            for k, v in attrs.items():
                f.attrs[k] = v
            for k, v in arrays.items():
                f.create_dataset(k, data=v, **options.get(k, {}))

    def put(name, value):
        return lambda arrays, attrs: arrays.__setitem__(name, value(arrays[name]))

    def set_row(f, name, row, column, value):
        data = f[name][row]
        data[column] = value
        f[name][row] = data

    with copy("missing_histograms") as f:
        del f["histograms"]
    with copy("histograms_group") as f:
        del f["histograms"]
        f.create_group("histograms")
    with copy("missing_image_ids") as f:
        del f["image_ids"]
    rebuild("shape_1151", put("histograms", lambda h: h[:, :1151] / h[:, :1151].sum(1, keepdims=True)))
    rebuild("shape_1d", put("histograms", lambda h: h.reshape(-1)))
    rebuild("int32_histograms", put("histograms", lambda h: (h > 0).astype(np.int32)))
    rebuild("float64_histograms", put("histograms", lambda h: h.astype(np.float64)))
    rebuild("float16_histograms", put("histograms", lambda h: h.astype(np.float16)))
    with copy("nan_row") as f:
        set_row(f, "histograms", 17, 3, np.nan)
    with copy("inf_row") as f:
        set_row(f, "histograms", 18, 4, np.inf)
    with copy("negative_entry") as f:
        row = f["histograms"][42]
        row[int(np.argmax(row))] -= 0.01
        row[630] = -0.01
        f["histograms"][42] = row
    with copy("row_sum_half") as f:
        f["histograms"][5] = f["histograms"][5] * 0.5
    with copy("zero_row") as f:
        f["histograms"][6] = np.zeros(1152, np.float32)
    with copy("duplicate_ids") as f:
        f["image_ids"][9] = f["image_ids"][3]
    with copy("empty_id") as f:
        f["image_ids"][7] = b""
    for attr in ["format", "format_version", "bins", "lab_ranges", "color_space"]:
        with copy("missing_attr_" + attr) as f:
            del f.attrs[attr]
    with copy("no_attributes") as f:
        for attr in list(f.attrs):
            del f.attrs[attr]
    with copy("bins_8_12_10") as f:
        f.attrs["bins"] = np.array([8, 12, 10], np.int32)
    with copy("bins_float") as f:
        f.attrs["bins"] = np.array([8.0, 12.0, 12.0])
    with copy("format_misspelt") as f:
        f.attrs["format"] = "chromatica-histogram"
    with copy("format_version_2") as f:
        f.attrs["format_version"] = 2
    with copy("lab_ranges_wrong") as f:
        f.attrs["lab_ranges"] = np.array([0, 100, -128, 127, -128, 127.0])
    with copy("color_space_srgb") as f:
        f.attrs["color_space"] = "sRGB"
    rebuild("ids_399", put("image_ids", lambda ids: ids[:399]))
    rebuild("ids_integer", put("image_ids", lambda ids: np.arange(len(ids))))
    rebuild("file_paths_10", put("file_paths", lambda paths: paths[:10]))
    with copy("palettes_without_weights") as f:
        del f["palette_weights"]
    rebuild("palettes_4_slots", put("palettes", lambda p: p[:, :4, :]))
    with copy("palette_weight_nan") as f:
        set_row(f, "palette_weights", 8, 0, np.nan)

    def no_rows(arrays, attrs):
        for k in list(arrays):
            arrays[k] = arrays[k][:0]
    rebuild("zero_images", no_rows)

    def one_row(arrays, attrs):
        for k in list(arrays):
            arrays[k] = arrays[k][:1]
    rebuild("one_image", one_row)

    def variable_strings(arrays, attrs):
        for k in ["image_ids", "file_paths"]:
            arrays[k] = np.array([s.decode() for s in arrays[k]], dtype=h5py.string_dtype())
    rebuild("vlen_strings", variable_strings)
    rebuild("chunked_gzip", lambda a, b: {"histograms": {"chunks": (64, 1152), "compression": "gzip"}})
    with open(DATA, "rb") as f:
        raw = f.read()
    with open(os.path.join(out, "half_of_small.h5"), "wb") as f:  # truncated
        f.write(raw[: len(raw) // 2])
    with open(os.path.join(out, "not_hdf5.h5"), "w") as f:
        f.write("this is a text file, not an HDF5 dataset\n")
    open(os.path.join(out, "empty.h5"), "wb").close()


def gen_sets(gen):
    """Folders for `chromatica build`."""
    out = os.path.join(gen, "sets")
    red = os.path.join(IMAGES, "solid_red.png")
    only_bad = os.path.join(out, "only_bad")
    os.makedirs(only_bad, exist_ok=True)
    for name in ["not_an_image.png", "empty.jpg", "truncated.png", "transparent.png"]:
        shutil.copy(os.path.join(IMAGES, name), only_bad)
    for side in ["a", "b"]:
        os.makedirs(os.path.join(out, "same_base", side, "x"), exist_ok=True)
        shutil.copy(red, os.path.join(out, "same_base", side, "x"))
    os.makedirs(os.path.join(out, "empty_dir"), exist_ok=True)
    mixed = os.path.join(out, "mixed")
    os.makedirs(mixed, exist_ok=True)
    shutil.copy(red, mixed)
    for name in os.listdir(os.path.join(HERE, "images")):
        shutil.copy(os.path.join(HERE, "images", name), mixed)
    special = os.path.join(out, "special")
    os.makedirs(os.path.join(special, "sub.png"), exist_ok=True)
    shutil.copy(red, special)
    os.mkfifo(os.path.join(special, "fifo.png"))
    os.symlink("/dev/zero", os.path.join(special, "zero.png"))
    open(os.path.join(special, ".hidden.png"), "wb").close()
    with open(os.path.join(special, "sparse_1100mb.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.truncate(1100 * 1024 * 1024)  # sparse: takes no disk space


def gen_special(gen):
    out = os.path.join(gen, "special")
    os.makedirs(out, exist_ok=True)
    os.mkfifo(os.path.join(out, "fifo"))


GENERATORS = {"batches": gen_batches, "datasets": gen_datasets, "sets": gen_sets,
              "special": gen_special}


def load_generators():
    """Adds the generators of generators/NAME.py: each defines generate(out_dir), called with
    WORKDIR/generated/NAME; a case asks for it with "needs": ["NAME"]."""
    import importlib.util
    folder = os.path.join(HERE, "generators")
    if not os.path.isdir(folder):
        return
    for file in sorted(os.listdir(folder)):
        if not file.endswith(".py"):
            continue
        name = file[:-3]
        spec = importlib.util.spec_from_file_location("corpus_gen_" + name,
                                                      os.path.join(folder, file))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)

        def run(gen, module=module, name=name):
            out = os.path.join(gen, name)
            os.makedirs(out, exist_ok=True)
            module.generate(out)
        GENERATORS[name] = run


def load_cases():
    """The cases of expected.json, then those of cases/*.json (each {"cases": [...]}) in name
    order, so that each area of the tool keeps its cases in a file of its own."""
    with open(os.path.join(HERE, "expected.json")) as f:
        cases = json.load(f)["cases"]
    folder = os.path.join(HERE, "cases")
    if os.path.isdir(folder):
        for file in sorted(os.listdir(folder)):
            if file.endswith(".json"):
                with open(os.path.join(folder, file)) as f:
                    cases += json.load(f)["cases"]
    return cases


# ---------------------------------------------------------------- running and checking

def expand(value, places):
    if isinstance(value, str):
        for key, text in places.items():
            value = value.replace("{" + key + "}", text)
        return value
    if isinstance(value, list):
        return [expand(v, places) for v in value]
    if isinstance(value, dict):
        return {k: expand(v, places) for k, v in value.items()}
    return value


def as_list(value):
    return [] if value is None else value if isinstance(value, list) else [value]


def check_report(spec, problems):
    path = spec["path"]
    try:
        with open(path, "rb") as f:
            raw = f.read()
        report = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError) as e:
        problems.append(f"report {os.path.basename(path)} unreadable as UTF-8 JSON: {e}")
        return
    results = report.get("results", [])
    for key, field in [("total", "total_queries"), ("successful", "successful_queries"),
                       ("failed", "failed_queries")]:
        if key in spec and report.get(field) != spec[key]:
            problems.append(f"report {field} = {report.get(field)} (expected {spec[key]})")
    for q in spec.get("queries", []):
        i = q["index"]
        if i >= len(results):
            problems.append(f"report has no query {i}")
            continue
        got = results[i]
        where = f"query {i} ({got.get('query_id', '?')[:40]})"
        if "id" in q and got.get("query_id") != q["id"]:
            problems.append(f"{where}: query_id {got.get('query_id')!r} (expected {q['id']!r})")
        if got.get("success") != q["success"]:
            problems.append(f"{where}: success {got.get('success')} (expected {q['success']}); "
                            f"error {got.get('error')!r}")
        if not q["success"]:
            error = got.get("error") or ""
            for text in as_list(q.get("error")):
                if text not in error:
                    problems.append(f"{where}: error {error!r} lacks {text!r}")
            if got.get("results") != [] or got.get("results_count") != 0:
                problems.append(f"{where}: a failed query has results")
        if "results_count" in q and got.get("results_count") != q["results_count"]:
            problems.append(f"{where}: results_count {got.get('results_count')} "
                            f"(expected {q['results_count']})")
    warnings = report.get("warnings", [])
    for text in as_list(spec.get("warnings")):
        if not any(text in w for w in warnings):
            problems.append(f"report warnings {warnings[:3]} lack {text!r}")
    if "warnings_count" in spec and len(warnings) != spec["warnings_count"]:
        problems.append(f"report has {len(warnings)} warnings (expected {spec['warnings_count']})")


def run_case(case, places, timeout_scale):
    case_dir = places["case"]
    shutil.rmtree(case_dir, ignore_errors=True)
    os.makedirs(case_dir)
    for d in case.get("mkdirs", []):
        os.makedirs(d, exist_ok=True)
    for path in case.get("untouched", []):
        with open(path, "wb") as f:
            f.write(SENTINEL)
    env = dict(os.environ)
    env.update({"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"})
    env.update(case.get("env", {}))
    stdin_data = None
    if "stdin_from" in case:
        with open(case["stdin_from"], "rb") as f:
            stdin_data = f.read()
    timeout = case.get("timeout", DEFAULT_TIMEOUT) * timeout_scale
    problems = []
    start = time.monotonic()
    proc = subprocess.Popen(case["cmd"], cwd=case_dir, env=env, start_new_session=True,
                            stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(stdin_data, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        problems.append(f"timed out after {timeout:.0f} s (killed)")
    elapsed = time.monotonic() - start
    stdout = out.decode("utf-8", "replace")
    stderr = err.decode("utf-8", "replace")
    code = proc.returncode
    if code is not None and code < 0:
        problems.append(f"killed by signal {-code}")
    for pattern in CRASH_PATTERNS:
        if pattern in stderr or pattern in stdout:
            problems.append(f"crash report in the output ({pattern!r})")
            break
    if not problems and code != case["exit"]:
        problems.append(f"exit {code} (expected {case['exit']})")
    for text in as_list(case.get("stderr")):
        if text not in stderr:
            problems.append(f"stderr lacks {text!r}")
    for text in as_list(case.get("stdout")):
        if text not in stdout:
            problems.append(f"stdout lacks {text!r}")
    for path in case.get("untouched", []):
        try:
            with open(path, "rb") as f:
                same = f.read() == SENTINEL
        except OSError:
            same = False
        if not same:
            problems.append(f"existing output {os.path.basename(path)} was changed or removed")
    for path in case.get("absent", []):
        if os.path.lexists(path):
            problems.append(f"{os.path.relpath(path, case_dir)} exists (must not)")
    for path in case.get("exists", []):
        if not os.path.exists(path):
            problems.append(f"{os.path.relpath(path, case_dir)} is missing")
    for item in case.get("files_contain", []):
        try:
            with open(item["path"], "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            text = None
        if text is None or item["text"] not in text:
            problems.append(f"{os.path.basename(item['path'])} lacks {item['text']!r}")
    for item in case.get("json_values", []):
        try:
            with open(item["path"], "rb") as f:
                doc = json.loads(f.read().decode("utf-8"))
        except (OSError, ValueError) as e:
            problems.append(f"{os.path.basename(item['path'])} unreadable as JSON: {e}")
            continue
        for dotted, want in item["values"].items():
            got = doc
            for part in dotted.split("."):  # a number indexes a list: results.0.metadata
                if isinstance(got, list) and part.isdigit():
                    got = got[int(part)] if int(part) < len(got) else None
                else:
                    got = got.get(part) if isinstance(got, dict) else None
            if got != want:
                problems.append(f"{os.path.basename(item['path'])}: {dotted} = {got!r} (expected {want!r})")
    if "report" in case and not any(p.startswith("timed out") for p in problems):
        check_report(case["report"], problems)
    for parent, _, names in os.walk(case_dir):
        for name in names:
            if TEMP_NAME.search(name):
                problems.append(f"temporary file left: {os.path.relpath(os.path.join(parent, name), case_dir)}")
    if problems:
        tail = stderr.strip().splitlines()[-3:]
        problems.append("stderr was: " + (" | ".join(tail) if tail else "(empty)"))
    else:
        shutil.rmtree(case_dir, ignore_errors=True)  # keep only failing cases' files
    return code, elapsed, problems


def main(argv):
    args = argv[1:]
    if len(args) == 2 and args[0] == "--make-images":
        make_images(args[1])
        return 0
    known_bad_only = "--known-bad-only" in args
    include_known_bad = "--include-known-bad" in args or known_bad_only
    only = None
    jobs = min(os.cpu_count() or 1, 4)
    rest = []
    i = 0
    while i < len(args):
        if args[i] in ("--include-known-bad", "--known-bad-only"):
            pass
        elif args[i] == "--only" and i + 1 < len(args):
            only = args[i + 1]
            i += 1
        elif args[i] == "--jobs" and i + 1 < len(args):
            jobs = max(1, int(args[i + 1]))
            i += 1
        else:
            rest.append(args[i])
        i += 1
    if len(rest) != 2:
        print("\n".join(__doc__.strip().splitlines()[2:5]), file=sys.stderr)
        return 2
    binary, work = os.path.abspath(rest[0]), os.path.abspath(rest[1])
    cases = load_cases()
    names = [c["name"] for c in cases]
    if len(set(names)) != len(names):
        print("expected.json and cases/*.json: duplicate case names", file=sys.stderr)
        return 2
    load_generators()
    shutil.rmtree(work, ignore_errors=True)
    gen = os.path.join(work, "generated")
    os.makedirs(gen)
    base = {"bin": binary, "work": work, "gen": gen, "data": DATA, "corpus": HERE,
            "images": IMAGES}
    # ASan/UBSan builds are slower: give them more time.
    timeout_scale = float(os.environ.get("CHR_CORPUS_TIMEOUT_SCALE", "1"))
    started = time.monotonic()

    selected, skipped_lines = [], {}
    for index, case in enumerate(cases):
        if only is not None and not any(text in case["name"] for text in only.split(",")):
            continue
        if known_bad_only and not case.get("known_bad"):
            continue
        if case.get("known_bad") and not include_known_bad:
            skipped_lines[index] = f"skip {case['name']}: skipped (known bad)"
            continue
        selected.append(index)
    needed = {n for i in selected for n in cases[i].get("needs", [])}
    for name in sorted(needed):
        t = time.monotonic()
        GENERATORS[name](gen)
        print(f"generated {name} in {time.monotonic() - t:.1f} s", flush=True)

    def work_on(index):
        case = cases[index]
        places = dict(base, case=os.path.join(work, "cases", re.sub(r"[^A-Za-z0-9_.-]", "__", case["name"])))
        return run_case(expand(case, places), places, timeout_scale)

    passed = failed = skipped = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {i: pool.submit(work_on, i) for i in selected}
        for index in range(len(cases)):
            if index in skipped_lines:
                print(skipped_lines[index], flush=True)
                skipped += 1
            if index not in futures:
                continue
            code, elapsed, problems = futures[index].result()
            name = cases[index]["name"]
            if problems:
                failed += 1
                print(f"FAIL {name} (exit {code}, {elapsed:.1f} s): " + "; ".join(problems), flush=True)
            else:
                passed += 1
                print(f"ok   {name} (exit {code}, {elapsed:.1f} s)", flush=True)
    print(f"{skipped} skipped (known bad); corpus run took {time.monotonic() - started:.1f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
