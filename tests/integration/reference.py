#!/usr/bin/python3
"""Independent numpy (+ POT) reference for `chromatica search`, written from spec.md sections 1-5 and 7.

usage: reference.py DATASET.h5 BATCH.json REPORT.json [--pot-rtol R] [--pot-min-eps E]

Recomputes every successful query of the batch (colour -> Lab -> tri-linear query histogram ->
exact Hellinger top-R -> Sinkhorn on supports -> top-k) and compares with the report:
image ids and order identical, distance within 1e-6 relative, ann_score within 1e-9 absolute.

POT cross-check: for every reported result of a non-fast sinkhorn query with sinkhorn_epsilon >=
--pot-min-eps (default 0.01), ot.sinkhorn2 on the same supports, run to convergence
(numItermax=100000, stopThr=1e-12), must agree with the reported distance within --pot-rtol.
With the default options the report stops at sinkhorn_tol 1e-6 / at most 100 iterations, so only
~1e-3 agreement is expected there; with sinkhorn_tol 1e-12 and a large max_iter, 1e-6.

Prints one line per check and a final 'N passed, M failed' line; exit status 1 on any failure.
"""
import argparse
import json
import math
import sys

import h5py
import numpy as np

# ---------------------------------------------------------------- spec section 2: the grid
NB = (8, 12, 12)
RANGES = ((0.0, 100.0), (-86.0, 98.0), (-108.0, 95.0))
NBINS = NB[0] * NB[1] * NB[2]


def axis_centres(d):
    lo, hi = RANGES[d]
    w = (hi - lo) / NB[d]
    return lo + (np.arange(NB[d]) + 0.5) * w


_cl, _ca, _cb = (axis_centres(d) for d in range(3))
# flat index i = l*144 + a*12 + b (L slowest) -> meshgrid with 'ij' indexing and C-order ravel
CENTRES = np.stack([g.ravel() for g in np.meshgrid(_cl, _ca, _cb, indexing="ij")], axis=1)  # [1152,3]


def ground_cost(rows, cols):
    d = CENTRES[rows][:, None, :] - CENTRES[cols][None, :, :]
    return np.sqrt((d * d).sum(axis=2))


def c_max():
    # max distance over all bin pairs; the farthest pair is always between corner centres, but
    # compute it over all pairs (1152^2 doubles = 10 MB) to stay literal.
    return float(ground_cost(np.arange(NBINS), np.arange(NBINS)).max())


# ---------------------------------------------------------------- spec section 1: colour
M_RGB2XYZ = np.array([[0.412453, 0.357580, 0.180423],
                      [0.212671, 0.715160, 0.072169],
                      [0.019334, 0.119193, 0.950227]])
WHITE = np.array([0.95047, 1.0, 1.08883])


def parse_hex(s):
    h = s.strip()
    if h.startswith("#"):
        h = h[1:]
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    if len(h) != 6 or any(c not in "0123456789abcdefABCDEF" for c in h):
        raise ValueError("bad hex %r" % s)
    return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float64) / 255.0


def rgb2lab(rgb):
    # python3-skimage is not installed here, so the spec's formulas (identical to skimage's rgb2lab).
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = M_RGB2XYZ @ lin / WHITE
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16.0 / 116.0)
    return np.array([116.0 * f[1] - 16.0, 500.0 * (f[0] - f[1]), 200.0 * (f[1] - f[2])])


def self_test_colour():
    checks = {"FF0000": (53.24, 80.09, 67.20), "0000FF": (32.30, 79.19, -107.86),
              "00FF00": (87.74, -86.18, 83.18)}
    for h, want in checks.items():
        got = rgb2lab(parse_hex(h))
        assert np.allclose(got, want, atol=0.006), (h, got, want)


# ---------------------------------------------------------------- spec sections 2-3: histograms
def axis_weights(v, d):
    lo, hi = RANGES[d]
    n = NB[d]
    w = (hi - lo) / n
    t = (v - lo) / w - 0.5
    t = min(max(t, 0.0), n - 1.0)
    j0 = min(int(math.floor(t)), n - 2)
    f = t - j0
    return [(j0, 1.0 - f), (j0 + 1, f)]


def colour_weights(lab):
    """The 8 tri-linear (bin, weight) pairs of one Lab colour (zero weights included)."""
    out = []
    for jl, wl in axis_weights(lab[0], 0):
        for ja, wa in axis_weights(lab[1], 1):
            for jb, wb in axis_weights(lab[2], 2):
                out.append((jl * 144 + ja * 12 + jb, wl * wa * wb))
    return out


def query_histogram(colours, weights, sharpen):
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    q = np.zeros(NBINS)
    for c, wc in zip(colours, w):
        pairs = colour_weights(rgb2lab(parse_hex(c)))
        bins = np.array([p[0] for p in pairs])
        tw = np.array([p[1] for p in pairs])
        if sharpen != 1.0:
            tw = tw ** sharpen
        tw = tw / tw.sum()  # renormalise within the colour: its user weight is preserved
        np.add.at(q, bins, wc * tw)
    return q / q.sum()


# ---------------------------------------------------------------- spec section 4: stage 1
def ann_scores(q, X):
    """ann_score = 2 - 2*sum_i sqrt(q_i x_i) in float64 over all 1152 bins.  Bins where q_i = 0
    add exactly 0.0, so the sum is accumulated bin by bin in ascending bin order over q's support
    (the same order the README documents); this keeps exact ties reproducible to the last bit."""
    s = np.zeros(X.shape[0])
    for i in np.flatnonzero(q):
        s += np.sqrt(q[i] * X[:, i].astype(np.float64))
    return 2.0 - 2.0 * s


def top_by(keys, n):
    """indices of the n smallest keys, ties by lower row (stable sort on row order)."""
    order = np.argsort(keys, kind="stable")
    return order[:n]


# ---------------------------------------------------------------- spec section 5: stage 2
def logsumexp(M, axis):
    m = M.max(axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return (m + np.log(np.exp(M - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def sinkhorn(a, b, C, eps, tol, max_iter):
    """Spec section 5 on supports.  v starts at 1 on the image support; each iteration computes
    K v, checks (from the second iteration on) the row-marginal error sum|u*Kv - a| < tol, then
    updates u = a/Kv and v = b/(K^T u); at most max_iter updates; distance = sum u K v C.

    Documented choice from the README ("Sinkhorn domain"): standard-domain iterations while
    max(C)/eps <= 200, stabilised log-domain iterations beyond (same iteration/stop rule, with
    f = eps*log u, g = eps*log v)."""
    if C.max() / eps <= 200.0:
        K = np.exp(-C / eps)
        u = np.ones_like(a)
        v = np.ones_like(b)
        for it in range(max_iter):
            Kv = K @ v
            if it > 0 and np.abs(u * Kv - a).sum() < tol:
                break
            u = a / Kv
            v = b / (K.T @ u)
        return float((u[:, None] * K * v[None, :] * C).sum())
    la, lb = np.log(a), np.log(b)
    f = np.zeros_like(a)
    g = np.zeros_like(b)
    for it in range(max_iter):
        lKv = logsumexp((g[None, :] - C) / eps, axis=1)  # log (K v) without the u factor
        if it > 0 and np.abs(np.exp(f / eps + lKv) - a).sum() < tol:
            break
        f = eps * (la - lKv)
        g = eps * (lb - logsumexp((f[:, None] - C) / eps, axis=0))
    P = np.exp((f[:, None] + g[None, :] - C) / eps)
    return float((P * C).sum())


def supports(q, x):
    qs = np.flatnonzero(q > 0)
    xs = np.flatnonzero(x > 0)
    a = q[qs]
    b = x[xs].astype(np.float64)
    b = b / b.sum()  # stored float32 rows sum to 1 only within rounding: renormalise in double
    return qs, xs, a, b


# ---------------------------------------------------------------- batch handling (spec 7)
def as_list(v):
    if v is None:
        return None
    if isinstance(v, str):
        return [s.strip() for s in v.split(",")]
    return list(v)


def effective(query, options):
    o = {"rerank_k": 200, "metric": "sinkhorn", "sinkhorn_epsilon": 0.05, "sinkhorn_max_iter": 100,
         "sinkhorn_tol": 1e-6, "sharpen": 1.0, "fast_mode": False, "k": 10}
    o.update(options)
    o.update({k: v for k, v in query.items() if k not in ("colors", "weights", "id")})
    colours = as_list(query["colors"])
    weights = as_list(query.get("weights"))
    weights = [float(w) for w in weights] if weights else [1.0] * len(colours)
    return colours, weights, o


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("batch")
    ap.add_argument("report")
    ap.add_argument("--pot-rtol", type=float, default=1e-3)
    ap.add_argument("--pot-min-eps", type=float, default=0.01)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--ann-atol", type=float, default=1e-9)
    args = ap.parse_args()

    passed = failed = 0

    def check(name, ok, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print("ok   %s %s" % (name, detail))
        else:
            failed += 1
            print("FAIL %s %s" % (name, detail))

    try:
        self_test_colour()
        check("colour check values (spec 1)", True)
    except AssertionError as e:
        check("colour check values (spec 1)", False, str(e))

    with h5py.File(args.dataset, "r") as h:
        X = h["/histograms"][...]  # float32 [N,1152]
        ids = [s.decode() if isinstance(s, bytes) else str(s) for s in h["/image_ids"][...]]
    N = X.shape[0]
    batch = json.load(open(args.batch))
    report = json.load(open(args.report))
    options = batch.get("options", {})
    cmax = c_max()

    try:
        import ot
    except ImportError:
        ot = None
        check("POT import", False, "python3-pot missing")

    max_rel = max_ann = max_pot = 0.0
    pot_n = 0
    check("report query count", len(report["results"]) == len(batch["queries"]),
          "%d vs %d" % (len(report["results"]), len(batch["queries"])))
    for qi, (query, res) in enumerate(zip(batch["queries"], report["results"])):
        name = "query %d (%s)" % (qi, res.get("query_id"))
        if not res.get("success"):
            check(name + " success", False, res.get("error", ""))
            continue
        colours, weights, o = effective(query, options)
        k, fast = int(o["k"]), bool(o["fast_mode"])
        if o["metric"] != "sinkhorn" and not fast:
            check(name, False, "reference only implements metric sinkhorn")
            continue
        q = query_histogram(colours, weights, float(o["sharpen"]))
        ann = ann_scores(q, X)
        if fast:
            R = min(N, k)
            final = [(float(ann[r]), r) for r in top_by(ann, R)]
        else:
            R = min(N, max(k, int(o["rerank_k"])))
            eps = float(o["sinkhorn_epsilon"]) * cmax
            final = []
            for r in top_by(ann, R):
                qs, xs, a, b = supports(q, X[r])
                C = ground_cost(qs, xs)
                d = sinkhorn(a, b, C, eps, float(o["sinkhorn_tol"]), int(o["sinkhorn_max_iter"]))
                final.append((d, int(r)))
            final.sort()  # by (distance, row)
            final = final[:k]
        got = res["results"]
        want_ids = [ids[r] for _, r in final]
        got_ids = [e["image_id"] for e in got]
        check(name + " ids+order", want_ids == got_ids,
              "" if want_ids == got_ids else "\n  want %s\n  got  %s" % (want_ids, got_ids))
        if want_ids != got_ids:
            continue
        rel = max(abs(e["distance"] - d) / max(abs(d), 1e-300) for e, (d, _) in zip(got, final))
        aerr = max(abs(e["ann_score"] - ann[r]) for e, (_, r) in zip(got, final))
        max_rel, max_ann = max(max_rel, rel), max(max_ann, aerr)
        check(name + " distance", rel <= args.rtol, "max rel err %.3g (R=%d, k=%d%s)"
              % (rel, R, k, ", fast" if fast else ", eps=%g" % o["sinkhorn_epsilon"]))
        check(name + " ann_score", aerr <= args.ann_atol, "max abs err %.3g" % aerr)

        if ot is not None and not fast and float(o["sinkhorn_epsilon"]) >= args.pot_min_eps:
            eps = float(o["sinkhorn_epsilon"]) * cmax
            prel = 0.0
            for e, (_, r) in zip(got, final):
                qs, xs, a, b = supports(q, X[r])
                M = ground_cost(qs, xs)
                dp = float(ot.sinkhorn2(a, b, M, reg=eps, numItermax=100000, stopThr=1e-12))
                prel = max(prel, abs(e["distance"] - dp) / abs(dp))
                pot_n += 1
            max_pot = max(max_pot, prel)
            check(name + " POT sinkhorn2", prel <= args.pot_rtol,
                  "max rel err %.3g (limit %g)" % (prel, args.pot_rtol))

    print("summary: max distance rel err %.3g, max ann_score abs err %.3g, "
          "max POT rel err %.3g over %d results" % (max_rel, max_ann, max_pot, pot_n))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
