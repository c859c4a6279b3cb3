# mpi4py twin of bench/collectives.ts: the same operations, sizes and iteration counts, with
# the uppercase buffer API (NumPy) and the lowercase object API (pickled NumPy arrays).
#   mpirun -n 4 python3 bench/collectives.py [sizes...]
import math
import json, os, sys
import numpy as np
from mpi4py import MPI

COLLECTIVE_SIZES = [8, 64, 512, 4096, 32768, 262144, 1 << 20, 8 << 20]
iterations = lambda size, n: max(20, min(5000, round(2e8 / ((size + 20_000) * n * n))))
comm = MPI.COMM_WORLD
n = comm.size
sizes = [int(a) for a in sys.argv[1:] if a.isdigit()] or COLLECTIVE_SIZES
ops = os.environ.get("TSMPI_BENCH_OPS", "barrier,bcast,allreduce,allgather,alltoall").split(",")

def make_call(api, op, size):
    elems = max(1, size // 8)
    data = np.full(elems, float(comm.rank))
    out = np.empty(elems)
    block = max(1, elems // n)
    # Every buffer a rank sends from holds data it wrote: a buffer never written (np.zeros) is the
    # kernel's zero page, one cached 4 KiB page that process_vm_readv reads at several times
    # memory speed (Alltoall of 8 MiB at n = 4: 0.87 ms from np.zeros, 1.6 ms from written data).
    send = np.full(block * n, float(comm.rank))
    recv_all = np.empty(elems * n)
    recv_blocks = np.empty(block * n)
    blocks = [np.full(block, float(comm.rank)) for _ in range(n)]
    if api == "buffer":
        return {
            "barrier": lambda: comm.Barrier(),
            "bcast": lambda: comm.Bcast(data, 0),
            "allreduce": lambda: comm.Allreduce(data, out),
            "allgather": lambda: comm.Allgather(data, recv_all),
            "alltoall": lambda: comm.Alltoall(send, recv_blocks),
        }[op]
    return {
        "barrier": lambda: comm.barrier(),
        "bcast": lambda: comm.bcast(data, 0),
        "allreduce": lambda: comm.allreduce(data),
        "allgather": lambda: comm.allgather(data),
        "alltoall": lambda: comm.alltoall(blocks),
    }[op]

WARM_UP_S = 0.25  # as tsmpi's bench: warm-up calls for at least this long, the count agreed by every rank


def run(call, iters):
    t = MPI.Wtime()
    for _ in range(4 * iters):  # warm-up, as long as tsmpi's
        call()
    spent = MPI.Wtime() - t
    more = comm.allreduce(math.ceil((WARM_UP_S - spent) * 4 * iters / spent), op=MPI.MAX)
    for _ in range(more):
        call()
    comm.Barrier()
    t0 = MPI.Wtime()
    for _ in range(iters):
        call()
    return (MPI.Wtime() - t0) / iters

# Every operation three times at its smallest size before anything is timed, as tsmpi's bench does.
for _ in range(3):
    for api in ("buffer", "object"):
        for op in ops:
            size = 0 if op == "barrier" else 8
            run(make_call(api, op, size), iterations(size, n))

for api in ("buffer", "object"):
    for op in ops:
        for size in ([0] if op == "barrier" else sizes):
            call = make_call(api, op, size)
            mean = run(call, iterations(size, n))
            worst = comm.allreduce(mean, op=MPI.MAX)
            if comm.rank == 0:
                print(json.dumps({"impl": "mpi4py", "api": api, "op": op, "n": n, "size": size, "usec": worst * 1e6}), flush=True)
