"""Run one of mpi4py's OSU demos as it is, with written buffers.

    mpirun -n 2 python3 bench/osu/run_demo.py osu_latency [name=value ...]

Each name=value (an integer) is passed to the demo's function, e.g. MAX_MSG_SIZE=67108864 or
skip=0 loop=1000. The one change to the demo: allocate() returns a buffer written once (see
vendor/mpi4py/README.md).
"""
import importlib
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "vendor", "mpi4py"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
name = sys.argv[1]
demo = importlib.import_module(name)
allocate = getattr(demo, "allocate", None)  # osu_barrier has none


def written(n):
    buf = allocate(n)
    memoryview(buf)[0:n] = b"\x07" * n
    return buf


if allocate is not None:
    demo.allocate = written
kwargs = {k: int(v) for k, v in (a.split("=", 1) for a in sys.argv[2:])}
getattr(demo, name)(**kwargs)
