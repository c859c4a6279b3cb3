# mpi4py twin of bench/pingpong.ts: uppercase Send/Recv of a NumPy buffer, lowercase send/recv
# of the same NumPy array (pickled) and of a list of floats ("object").
#   mpirun -n 2 python3 bench/pingpong.py [sizes...]
import json, sys
import numpy as np
from mpi4py import MPI

DEFAULT_SIZES = [1, 8, 64, 512, 4096, 32768, 262144, 1 << 20, 4 << 20, 16 << 20, 64 << 20]
iterations = lambda size: max(5, min(10_000, round(5e8 / (size + 50_000))))
comm = MPI.COMM_WORLD
rank = comm.rank
peer = 1 - rank
sizes = [int(a) for a in sys.argv[1:] if a.isdigit()] or DEFAULT_SIZES

def run(kind, size):
    n = max(1, size // 8)
    buf = np.full(n, 1.5) if size >= 8 else np.full(size, 7, dtype=np.uint8)
    obj = [i + 0.5 for i in range(n)]
    iters = iterations(size)
    for rnd, count in ((0, 3 * iters), (1, iters)):  # warm-up as long as tsmpi's
        comm.Barrier()
        t0 = MPI.Wtime()
        for _ in range(count):
            if kind == "buffer":
                if rank == 0:
                    comm.Send(buf, peer, 1); comm.Recv(buf, peer, 1)
                else:
                    comm.Recv(buf, peer, 1); comm.Send(buf, peer, 1)
            else:
                payload = buf if kind == "pickle" else obj
                if rank == 0:
                    comm.send(payload, peer, 1); comm.recv(source=peer, tag=1)
                else:
                    comm.send(comm.recv(source=peer, tag=1), peer, 1)
        elapsed = MPI.Wtime() - t0
    half = elapsed / iters / 2
    if rank == 0:
        print(json.dumps({"impl": "mpi4py", "kind": kind, "size": size, "usec": half * 1e6, "gbps": size / half / 1e9}), flush=True)

for kind in ("buffer", "pickle", "object"):
    for size in sizes:
        if kind == "object" and size > 4 << 20:
            continue
        run(kind, size)
