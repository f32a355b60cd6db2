#!/usr/bin/env python3
"""Checks a `chromatica report` page as headless Chromium saw it (integration_report_html).

usage: report_html_check.py [--eval] REPORT.json PAGE.html DOM.html SCREENSHOT.png CHROMIUM_LOG

- every <img> is a data URI whose base64 decodes to a PNG that a small independent decoder
  (zlib + struct, below) reads completely, at most 96 pixels on its longer side;
- the screenshot is not blank: many distinct colours and a real share of non-white pixels;
- in the DOM, each query's results hold the report's image ids in rank order, failed queries
  show their error, and the unreadable image has a placeholder instead of an <img>;
- there is no script: no <script> element, no on* attribute, no javascript: URL, and Chromium
  logged no console error.
Exits 1 with the reasons on any failure.
"""
import base64
import html.parser
import json
import struct
import sys
import zlib


def png_decode(data):
    """(width, height, rows of bytes) of an 8-bit, non-interlaced RGB/RGBA/grey PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("no PNG signature")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise ValueError("bad CRC in chunk %r" % kind)
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, ctype, _, _, interlace = ihdr
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
    if depth != 8 or channels is None or interlace != 0:
        raise ValueError("unsupported PNG layout depth %d type %d" % (depth, ctype))
    raw, stride, bpp = zlib.decompress(idat), width * channels, channels
    rows, prev, at = [], bytearray(stride), 0
    for _ in range(height):
        filt, line = raw[at], bytearray(raw[at + 1:at + 1 + stride])
        at += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if filt == 1:
                line[i] = (line[i] + a) & 255
            elif filt == 2:
                line[i] = (line[i] + b) & 255
            elif filt == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif filt == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            elif filt != 0:
                raise ValueError("bad filter %d" % filt)
        rows.append(bytes(line))
        prev = line
    if len(rows) != height or len(rows[-1]) != stride:
        raise ValueError("truncated pixel data")
    return width, height, channels, rows


class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.queries, self.imgs, self.scripts, self.handlers, self.errors = [], [], 0, [], []
        self.placeholders, self._in_error = 0, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        self.handlers += [k for k, v in attrs if k.startswith("on")]
        self.handlers += [k for k, v in attrs if v and "javascript:" in v.lower()]
        if tag == "script":
            self.scripts += 1
        if tag == "article" and "query" in classes:
            self.queries.append([])
        if tag == "li" and "result" in classes:
            self.queries[-1].append((a.get("data-rank"), a.get("data-image-id")))
        if tag == "img":
            self.imgs.append(a.get("src") or "")
        if "ph" in classes:
            self.placeholders += 1
        self._in_error = tag == "p" and "error" in classes

    def handle_data(self, data):
        if self._in_error:
            self.errors.append(data)


def main(report_path, page_path, dom_path, shot_path, log_path):
    problems = []
    report = json.load(open(report_path, encoding="utf-8"))
    dom = Dom()
    dom.feed(open(dom_path, encoding="utf-8").read())
    page = open(page_path, encoding="utf-8").read()

    for i, src in enumerate(dom.imgs):
        prefix = "data:image/png;base64,"
        if not src.startswith(prefix):
            problems.append("img %d is not a PNG data URI: %.60s" % (i, src))
            continue
        try:
            w, h, _, _ = png_decode(base64.b64decode(src[len(prefix):], validate=True))
            if max(w, h) > 96:
                problems.append("img %d is %dx%d (expected at most 96 px)" % (i, w, h))
        except Exception as e:  # noqa: BLE001 - any decoding failure is the finding
            problems.append("img %d does not decode: %s" % (i, e))

    w, h, ch, rows = png_decode(open(shot_path, "rb").read())
    colours, dark = set(), 0
    for row in rows[::4]:
        for x in range(0, w * ch, ch * 4):
            px = row[x:x + 3]
            colours.add(px)
            dark += px != b"\xff\xff\xff"
    sampled = len(rows[::4]) * len(range(0, w * ch, ch * 4))
    if len(colours) < 16 or dark < 0.02 * sampled:
        problems.append("screenshot looks blank: %d colours, %d of %d sampled pixels not white"
                        % (len(colours), dark, sampled))

    queries = report["results"]
    if len(dom.queries) != len(queries):
        problems.append("%d query sections in the DOM, %d in the report"
                        % (len(dom.queries), len(queries)))
    for q, shown in zip(queries, dom.queries):
        want = [(str(r["rank"]), r["image_id"]) for r in q["results"]]
        ranks = [int(r) for r, _ in shown]
        if shown != want or ranks != sorted(ranks):
            problems.append("query %s: DOM shows %s, report has %s" % (q["query_id"], shown, want))
        if not q["success"] and not any(q["error"] in e for e in dom.errors):
            problems.append("query %s: its error %r is not shown" % (q["query_id"], q["error"]))
    hits = sum(len(q["results"]) for q in queries)
    bad = sum(r.get("file_path") == "two_colour.png" for q in queries for r in q["results"])
    if bad == 0 or dom.placeholders != bad or len(dom.imgs) != hits - bad:
        problems.append("%d imgs and %d placeholders for %d results, %d of them unreadable"
                        % (len(dom.imgs), dom.placeholders, hits, bad))
    if not any(not q["success"] for q in queries):
        problems.append("the report has no failed query to show")

    if dom.scripts or "<script" in page.lower() or dom.handlers:
        problems.append("script found: %d <script>, handlers %s" % (dom.scripts, dom.handlers))
    log = open(log_path, encoding="utf-8", errors="replace").read()
    if "CONSOLE" in log or "Uncaught" in log:
        problems.append("Chromium logged a console message: %s" % log[-500:])

    for p in problems:
        print("FAIL:", p)
    print("%d queries, %d thumbnails, %d placeholders, %d screenshot colours"
          % (len(dom.queries), len(dom.imgs), dom.placeholders, len(colours)))
    return 1 if problems else 0


class EvalDom(html.parser.HTMLParser):
    """The eval page's plot groups (data-recall, data-latency-ms, mean circle), table rows and
    any script."""

    def __init__(self):
        super().__init__()
        self.groups, self.rows, self.names, self.scripts, self.handlers = [], 0, [], 0, []
        self.svg, self.viewbox, self._in_name = 0, None, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        self.handlers += [k for k, v in attrs if k.startswith("on")]
        self.handlers += [k for k, v in attrs if v and "javascript:" in v.lower()]
        self.scripts += tag == "script"
        if tag == "svg":
            self.svg += 1
            self.viewbox = [float(x) for x in (a.get("viewbox") or "0 0 0 0").split()]
        if tag == "g" and "mode" in classes:
            self.groups.append({"recall": float(a["data-recall"]),
                                "latency": float(a["data-latency-ms"]), "circles": []})
        if tag == "circle" and self.groups:
            self.groups[-1]["circles"].append((float(a["cx"]), float(a["cy"])))
        if tag == "tr" and "mode" in classes:
            self.rows += 1
        self._in_name = tag == "span" and "name" in classes

    def handle_data(self, data):
        if self._in_name:
            self.names.append(data)
            self._in_name = False


def main_eval(report_path, page_path, dom_path, shot_path, log_path):
    """The eval page: one plot group and one table row per mode, in the report's order, with the
    report's recall and latency; points inside the plot, higher recall drawn higher and slower
    modes never to the left of faster ones; not blank; no script."""
    problems = []
    modes = json.load(open(report_path, encoding="utf-8"))["modes"]
    dom = EvalDom()
    dom.feed(open(dom_path, encoding="utf-8").read())
    page = open(page_path, encoding="utf-8").read()
    if dom.svg != 1 or len(dom.groups) != len(modes) or dom.rows != len(modes):
        problems.append("%d svg, %d plot groups and %d table rows for %d modes"
                        % (dom.svg, len(dom.groups), dom.rows, len(modes)))
    if dom.names != [m["mode"] for m in modes]:
        problems.append("table names %s, report modes %s" % (dom.names, [m["mode"] for m in modes]))
    _, _, width, height = dom.viewbox or (0, 0, 0, 0)
    points = []
    for m, g in zip(modes, dom.groups):
        want_ms = m["latency_ms"]["total"]["mean"]
        if abs(g["recall"] - m["recall_at_k_mean"]) > 1e-5 or \
                abs(g["latency"] - want_ms) > 1e-5 * max(1.0, want_ms):
            problems.append("mode %s: plotted %s, report %s / %s" % (m["mode"], g,
                            m["recall_at_k_mean"], want_ms))
        x, y = g["circles"][0]
        if not (0 < x < width and 0 < y < height):
            problems.append("mode %s: point (%s, %s) outside the plot" % (m["mode"], x, y))
        points.append((max(want_ms, 1e-3), m["recall_at_k_mean"], x, y))
    for a in points:
        for b in points:
            if a[1] > b[1] + 1e-9 and not a[3] < b[3]:
                problems.append("higher recall is not drawn higher: %s vs %s" % (a, b))
            # Latencies are measured, so two modes may differ by less than the page's coordinate
            # precision (they then share an x): the check is that a slower mode is never drawn
            # to the left of a faster one, whatever the timings of the run.
            if a[0] > b[0] * (1 + 1e-9) and a[2] < b[2]:
                problems.append("slower mode is drawn further left: %s vs %s" % (a, b))
    w, h, ch, rows = png_decode(open(shot_path, "rb").read())
    colours = {row[x:x + 3] for row in rows[::4] for x in range(0, w * ch, ch * 4)}
    if len(colours) < 8:
        problems.append("eval screenshot looks blank: %d colours" % len(colours))
    if dom.scripts or "<script" in page.lower() or dom.handlers or "src=\"http" in page:
        problems.append("script or outside resource found")
    log = open(log_path, encoding="utf-8", errors="replace").read()
    if "CONSOLE" in log or "Uncaught" in log:
        problems.append("Chromium logged a console message: %s" % log[-500:])
    for p in problems:
        print("FAIL:", p)
    print("eval page: %d modes plotted, %d table rows, %d screenshot colours"
          % (len(dom.groups), dom.rows, len(colours)))
    return 1 if problems else 0


if __name__ == "__main__":
    if sys.argv[1] == "--eval":
        sys.exit(main_eval(*sys.argv[2:7]))
    sys.exit(main(*sys.argv[1:6]))
