# mpi4py twin of bench/requests.ts: ping-pong of NumPy buffers with Send/Recv, Ssend/Recv and
# persistent requests (Send_init/Recv_init, Startall/Waitall on rank 0, Start/Wait on rank 1).
#   mpirun -n 2 python3 bench/requests.py [sizes...]
import json, sys
import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.rank
peer = 1 - rank
sizes = [int(a) for a in sys.argv[1:] if a.isdigit()] or [8, 4096]
CHUNK = 200

def trips(kind, n, buf, into, reqs):
    out, inc = reqs
    for _ in range(n):
        if kind == "persistent":
            if rank == 0:
                MPI.Prequest.Startall([inc, out]); MPI.Prequest.Waitall([inc, out])
            else:
                inc.Start(); inc.Wait(); out.Start(); out.Wait()
        elif kind == "ssend":
            if rank == 0:
                comm.Ssend(buf, peer, 1); comm.Recv(into, peer, 1)
            else:
                comm.Recv(into, peer, 1); comm.Ssend(buf, peer, 1)
        else:
            if rank == 0:
                comm.Send(buf, peer, 1); comm.Recv(into, peer, 1)
            else:
                comm.Recv(into, peer, 1); comm.Send(buf, peer, 1)

for size in sizes:
    buf = np.full(size // 8, 1.5)
    into = buf.copy()
    reqs = (comm.Send_init(buf, peer, 1), comm.Recv_init(into, peer, 1))
    iters = 20_000 if size <= 4096 else 2_000
    kinds = ("send", "ssend", "persistent")
    times = {kind: [] for kind in kinds}
    for kind in kinds:
        trips(kind, iters, buf, into, reqs)
    for _ in range(0, iters, CHUNK):
        for kind in kinds:
            comm.Barrier()
            t0 = MPI.Wtime()
            trips(kind, CHUNK, buf, into, reqs)
            times[kind].append((MPI.Wtime() - t0) / CHUNK / 2 * 1e6)
    for kind in kinds:
        if rank == 0:
            print(json.dumps({"impl": "mpi4py", "kind": kind, "size": size, "usec": sorted(times[kind])[len(times[kind]) // 2]}), flush=True)
    for r in reqs:
        r.Free()
