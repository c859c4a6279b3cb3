# NumPy twin of bench/rfft.mjs: ms per real FFT of a batch of rows (numpy.fft.rfft, pocketfft),
# warm, median of several timed repeats. Two ways of calling it: the whole batch in one call
# (`rfft(batch, axis=1)`, which allocates its output) and one call per row.
#   python3 bench/rfft.py [rows] [length] [repeats]
import json, sys, time
import numpy as np

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
L = int(sys.argv[2]) if len(sys.argv) > 2 else 51200
repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
batch = np.random.default_rng(1).random((rows, L)) - 0.5


def per_row():
    for r in range(rows):
        np.fft.rfft(batch[r])


def whole():
    np.fft.rfft(batch, axis=1)


for name, run in (("batch", whole), ("row", per_row)):
    run()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    times.sort()
    print(json.dumps({"impl": "numpy", "call": name, "L": L, "rows": rows, "ms": 1e3 * times[len(times) // 2] / rows, "version": np.__version__}))
