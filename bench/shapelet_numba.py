# Numba twin of examples/shapelet/rdst.ts `transform`: the same data and shapelets (dumped by
# `tsmpi -n 1 examples/shapelet/transform.ts --dump DIR`), the same L1 distance profiles on
# raw or z-normalised dilated windows, @njit(parallel=True) over samples as mpi4py-community
# code does it, with an allocation-free inner loop.
#   NUMBA_NUM_THREADS=2 python3 bench/shapelet_numba.py DIR
import json, os, sys, time
import numpy as np
from numba import njit, prange

d = sys.argv[1]
shape = json.load(open(os.path.join(d, "shape.json")))
N, T, K, L = shape["N"], shape["T"], shape["K"], shape["maxLength"]
X = np.fromfile(os.path.join(d, "X.f64"), dtype=np.float64).reshape(N, T)
values = np.fromfile(os.path.join(d, "values.f64"), dtype=np.float64).reshape(K, L)
lengths = np.fromfile(os.path.join(d, "lengths.i32"), dtype=np.int32)
dilations = np.fromfile(os.path.join(d, "dilations.i32"), dtype=np.int32)
normalized = np.fromfile(os.path.join(d, "normalized.u8"), dtype=np.uint8)
thresholds = np.fromfile(os.path.join(d, "thresholds.f64"), dtype=np.float64)
reference = np.fromfile(os.path.join(d, "features.f64"), dtype=np.float64).reshape(N, 3 * K)


@njit(fastmath=False, cache=False)
def one(x, s, l, dil, norm, lam, out, o):
    positions = x.shape[0] - (l - 1) * dil
    best = np.inf
    arg = 0
    count = 0
    for p in range(positions):
        mean = 0.0
        std = 0.0
        if norm:
            sq = 0.0
            for j in range(l):
                v = x[p + j * dil]
                mean += v
                sq += v * v
            mean /= l
            var = sq / l - mean * mean
            std = np.sqrt(var) if var > 0 else 0.0
        acc = 0.0
        for j in range(l):
            v = x[p + j * dil]
            if norm:
                v = (v - mean) * (1.0 / std) if std > 1e-8 else 0.0
            acc += abs(v - s[j])
        if acc < best:
            best = acc
            arg = p
        if acc <= lam:
            count += 1
    out[o] = best
    out[o + 1] = arg
    out[o + 2] = count


@njit(parallel=True)
def transform(X, values, lengths, dilations, normalized, thresholds):
    n = X.shape[0]
    k = values.shape[0]
    out = np.empty((n, 3 * k))
    for i in prange(n):
        for j in range(k):
            one(X[i], values[j], lengths[j], dilations[j], normalized[j] == 1, thresholds[j], out[i], 3 * j)
    return out


transform(X[:2], values[:2], lengths[:2], dilations[:2], normalized[:2], thresholds[:2])  # compile
t0 = time.perf_counter()
features = transform(X, values, lengths, dilations, normalized, thresholds)
elapsed = time.perf_counter() - t0
print(json.dumps({"impl": "numba", "threads": int(os.environ.get("NUMBA_NUM_THREADS", "0")) or None, "N": N, "T": T, "K": K,
                  "seconds": elapsed, "max_abs_diff_vs_tsmpi": float(np.max(np.abs(features - reference)))}))
