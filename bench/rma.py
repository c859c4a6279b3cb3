# mpi4py twin of bench/rma.ts: one-sided Put and Get of 8 B and 4 MiB between 2 ranks, each
# in its own fence epoch (Fence, Put/Get, Fence), and Fetch_and_op (+ Flush) on a counter owned
# by rank 1 while rank 1 computes (spins reading its own memory until every increment is in).
#   mpirun -n 2 python3 bench/rma.py
import json, sys
import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.rank
BIG = 4 << 20
win = MPI.Win.Allocate(BIG, 8, comm=comm)
local = np.frombuffer(win.tomemory(), dtype="d")
iterations = lambda size: 20_000 if size <= 8 else 200

def epochs(kind, size):
    buf = np.full(size // 8, 1.5)
    iters = iterations(size)
    for count in (iters, iters):  # warm-up, then timed
        comm.Barrier()
        t0 = MPI.Wtime()
        for _ in range(count):
            win.Fence()
            if rank == 0:
                if kind == "put":
                    win.Put(buf, 1, 0)
                else:
                    win.Get(buf, 1, 0)
            win.Fence()
        elapsed = MPI.Wtime() - t0
    if rank == 0:
        print(json.dumps({"impl": "mpi4py", "op": kind, "size": size, "usec": elapsed / iters * 1e6}), flush=True)

def busy_counter():
    iters = 20_000
    counter = np.frombuffer(win.tomemory(), dtype="i8")
    counter[0] = 0
    comm.Barrier()
    if rank == 1:
        while counter[0] < 2 * iters:  # computing: no MPI call until every increment is in
            pass
    else:
        one, old = np.ones(1, dtype="i8"), np.zeros(1, dtype="i8")
        win.Lock(1, MPI.LOCK_SHARED)
        for count in (iters, iters):
            t0 = MPI.Wtime()
            for _ in range(count):
                win.Fetch_and_op(one, old, 1, 0, MPI.SUM)
                win.Flush(1)
            elapsed = MPI.Wtime() - t0
        win.Unlock(1)
        print(json.dumps({"impl": "mpi4py", "op": "fetchAndOp-busy", "size": 8, "usec": elapsed / iters * 1e6}), flush=True)
    comm.Barrier()

for kind in ("put", "get"):
    for size in (8, BIG):
        epochs(kind, size)
busy_counter()
win.Free()
