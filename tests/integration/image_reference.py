#!/usr/bin/env python3
"""Independent numpy re-implementation of `chromatica build`'s image rows (spec sections 1-2
plus the README's downsizing and palette rules), and the checks of integration_build.

  image_reference.py make DIR [COUNT [MAX_SIDE_HINT]]   write seeded test PNGs into DIR
  image_reference.py check INPUT_DIR DATASET.h5 LOG.json [OTHER_LOG.json ...]
"""
import json
import os
import struct
import sys
import zlib

import h5py
import numpy as np

MAX_SIDE = 256
BINS = (8, 12, 12)
LO = np.array([0.0, -86.0, -108.0])
HI = np.array([100.0, 98.0, 95.0])
WIDTH = (HI - LO) / np.array(BINS)


def write_png(path, rgba):
    """A plain 8-bit RGBA PNG (no filtering), written without any image library."""
    h, w, _ = rgba.shape
    raw = b"".join(b"\x00" + rgba[y].tobytes() for y in range(h))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def make_images(folder, count):
    rng = np.random.default_rng(2026)
    os.makedirs(folder, exist_ok=True)
    for i in range(count):
        w, h = (int(v) for v in rng.integers(8, 520, size=2))
        img = np.zeros((h, w, 4), dtype=np.uint8)
        img[..., :3] = rng.integers(0, 256, size=3)
        img[..., 3] = 255
        for _ in range(int(rng.integers(1, 5))):  # rectangles of other colours
            x0, x1 = sorted(int(v) for v in rng.integers(0, w + 1, size=2))
            y0, y1 = sorted(int(v) for v in rng.integers(0, h + 1, size=2))
            img[y0:y1, x0:x1, :3] = rng.integers(0, 256, size=3)
        if i % 3 == 0:  # a transparent band and a half-transparent one
            img[: h // 4, :, 3] = 0
            img[h // 4 : h // 2, :, 3] = int(rng.integers(1, 255))
        if i % 5 == 0:  # a little noise so bins spread
            noise = rng.integers(-20, 21, size=(h, w, 3))
            img[..., :3] = np.clip(img[..., :3].astype(int) + noise, 0, 255).astype(np.uint8)
        write_png(os.path.join(folder, f"gen{i:02d}.png"), img)


def linearise(c):
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_lab(lin):
    m = np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169],
                  [0.019334, 0.119193, 0.950227]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16.0 / 116.0)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], 1)


def coverage_matrix(n_src, n_out):
    """m[o, i] = overlap of source pixel i with output pixel o, in source pixels."""
    m = np.zeros((n_out, n_src))
    for o in range(n_out):
        lo, hi = o * n_src / n_out, (o + 1) * n_src / n_out
        for i in range(int(np.floor(lo)), int(np.ceil(hi))):
            m[o, i] = max(0.0, min(hi, i + 1) - max(lo, i))
    return m


def out_size(w, h, max_side):
    longer = max(w, h)
    if longer <= max_side:
        return w, h
    scale = max_side / longer
    ow = max_side if w >= h else max(1, int(np.floor(w * scale + 0.5)))
    oh = max_side if h > w else max(1, int(np.floor(h * scale + 0.5)))
    return ow, oh


def linear_pixels(rgba, max_side=MAX_SIDE):
    """(N x 3 linear colours, N alpha coverages) after area averaging in linear light."""
    h, w, _ = rgba.shape
    lin = linearise(rgba[..., :3] / 255.0)
    alpha = rgba[..., 3] / 255.0
    ow, oh = out_size(w, h, max_side)
    if (ow, oh) == (w, h):
        return lin.reshape(-1, 3), alpha.reshape(-1)
    cx, cy = coverage_matrix(w, ow), coverage_matrix(h, oh)
    a_sum = cy @ alpha @ cx.T
    colour = np.stack([cy @ (alpha * lin[..., c]) @ cx.T for c in range(3)], -1)
    safe = np.where(a_sum > 0, a_sum, 1.0)
    colour = np.where(a_sum[..., None] > 0, colour / safe[..., None], 0.0)
    return colour.reshape(-1, 3), (a_sum / ((w / ow) * (h / oh))).reshape(-1)


def histogram_and_palette(rgba):
    lin, alpha = linear_pixels(rgba)
    keep = alpha > 0
    lin, alpha = lin[keep], alpha[keep]
    lab = linear_to_lab(lin)
    t = np.clip((lab - LO) / WIDTH - 0.5, 0, np.array(BINS) - 1)
    j0 = np.minimum(np.floor(t), np.array(BINS) - 2).astype(int)
    f = t - j0
    hist = np.zeros(BINS)
    for dl in (0, 1):
        for da in (0, 1):
            for db in (0, 1):
                wgt = ((f[:, 0] if dl else 1 - f[:, 0]) * (f[:, 1] if da else 1 - f[:, 1])
                       * (f[:, 2] if db else 1 - f[:, 2]))
                np.add.at(hist, (j0[:, 0] + dl, j0[:, 1] + da, j0[:, 2] + db), alpha * wgt)
    total = hist.sum()
    cell = np.clip(np.floor((lab - LO) / WIDTH), 0, np.array(BINS) - 1).astype(int)
    flat = (cell[:, 0] * 12 + cell[:, 1]) * 12 + cell[:, 2]
    mass = np.bincount(flat, weights=alpha, minlength=1152)
    sums = np.stack([np.bincount(flat, weights=alpha * lin[:, c], minlength=1152)
                     for c in range(3)], 1)
    # The whole ranked list, not just 5: a near-tie for the last slot may go either way.
    order = sorted(np.nonzero(mass)[0], key=lambda b: (-mass[b], b))
    palette = []
    for b in order:
        mean = np.clip(sums[b] / mass[b], 0, 1)
        enc = np.where(mean <= 0.0031308, 12.92 * mean, 1.055 * mean ** (1 / 2.4) - 0.055)
        palette.append((tuple(int(v) for v in np.floor(np.clip(enc, 0, 1) * 255 + 0.5)),
                        mass[b] / total))
    return (hist / total).reshape(-1), palette


def read_png(path):
    """Reads the PNGs make_images wrote (8-bit RGBA, filter 0 on every row)."""
    data = open(path, "rb").read()
    w, h = struct.unpack(">II", data[16:24])
    at, idat = 8, b""
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        if data[at + 4 : at + 8] == b"IDAT":
            idat += data[at + 8 : at + 8 + length]
        at += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, 1 + 4 * w)
    return raw[:, 1:].reshape(h, w, 4)


EXPECTED_SKIPS = {
    "README.md": "unsupported format", "make_images.py": "unsupported format",
    "not_an_image.png": "unsupported format", "empty.jpg": "empty file",
    "huge_dimensions.png": "too many pixels", "transparent.png": "no visible pixel",
    "truncated.jpg": "truncated JPEG", "truncated.png": "cannot decode PNG",
}
SOLID = {"solid_red.png": (255, 0, 0), "solid_blue.bmp": (0, 0, 255),
         "solid_green.gif": (0, 255, 0), "solid_magenta.webp": (255, 0, 255),
         "wrong_extension.jpg": (255, 255, 255)}


def check(input_dir, dataset, logs):
    problems = []
    log = json.load(open(logs[0]))
    skipped = {s["path"]: s["reason"] for s in log["skipped"]}
    if set(skipped) != set(EXPECTED_SKIPS):
        problems.append(f"skipped {sorted(skipped)} (expected {sorted(EXPECTED_SKIPS)})")
    for name, fragment in EXPECTED_SKIPS.items():
        if fragment not in skipped.get(name, fragment):
            problems.append(f"{name}: reason '{skipped[name]}' lacks '{fragment}'")
    if log["ignored"]["symbolic_links"] != 1 or log["ignored"]["hidden"] != 1:
        problems.append(f"ignored {log['ignored']} (expected 1 link and 1 hidden file)")
    for other in logs[1:]:
        if json.load(open(other))["skipped"] != log["skipped"]:
            problems.append(f"{other}: skipped list differs from {logs[0]}")
    with h5py.File(dataset, "r") as f:
        ids = [s.decode() for s in f["image_ids"][:]]
        paths = [s.decode() for s in f["file_paths"][:]]
        hists, pals, palw = f["histograms"][:], f["palettes"][:], f["palette_weights"][:]
    if ids != paths or ids != sorted(ids) or len(ids) != log["images_built"]:
        problems.append(f"ids {ids[:5]}... not the sorted stored paths of {log['images_built']} images")
    row = {name: i for i, name in enumerate(ids)}
    for name, rgb in SOLID.items():
        i = row[name]
        if tuple(pals[i, 0]) != rgb or palw[i, 0] != 1.0 or palw[i, 1] != 0.0:
            problems.append(f"{name}: palette {pals[i, 0]} x {palw[i, 0]} (expected {rgb} x 1)")
    i = row["two_colour.png"]
    if [tuple(p) for p in pals[i, :2]] != [(255, 255, 0), (0, 0, 255)] or \
            abs(palw[i, 0] - 0.75) > 1e-6 or abs(palw[i, 1] - 0.25) > 1e-6:
        problems.append(f"two_colour.png: palette {pals[i, :2]} {palw[i, :2]}")
    generated = sorted(n for n in ids if n.startswith("generated/"))
    if not generated:
        problems.append("no generated images in the dataset")
    worst = 0.0
    for name in generated:
        i = row[name]
        ref_hist, ref_pal = histogram_and_palette(read_png(os.path.join(input_dir, name)))
        worst = max(worst, float(np.abs(hists[i] - ref_hist).max()))
        for k, (rgb, weight) in enumerate(ref_pal[:5]):
            # Bins whose masses tie (to rounding) with the reference's slot k may take it.
            tied = [c for c, w in ref_pal if abs(w - weight) <= 1e-9]
            close = any(max(abs(int(a) - b) for a, b in zip(pals[i, k], c)) <= 1 for c in tied)
            if not close or abs(palw[i, k] - weight) > 1e-6:
                problems.append(f"{name} palette slot {k}: {pals[i, k]} x {palw[i, k]:.6f} "
                                f"(reference {rgb} x {weight:.6f})")
        if any(palw[i, min(5, len(ref_pal)):] != 0):
            problems.append(f"{name}: unused palette slots carry weight")
    if worst > 1e-6:
        problems.append(f"histograms differ from the numpy reference by up to {worst:.3g}")
    for p in problems:
        print("FAIL:", p)
    print(f"image_reference: {len(generated)} generated images within {worst:.2g} of numpy; "
          f"{len(skipped)} skipped files as expected" if not problems else "")
    return 1 if problems else 0


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make_images(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 12)
        sys.exit(0)
    sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4:]))
