# mpi4py + NumPy twin of examples/fft/batch.ts: rank 0 makes S signals of L samples, Scatterv
# of rows (buffer API) into preallocated rows, np.fft.rfft on each rank's rows, Gatherv of the
# spectra into rank 0's preallocated result. With --shared (the twin of batch.ts --shared):
# rank 0's signals sit in an MPI-3 shared window (Win.Allocate_shared on Split_type(SHARED)),
# one row of L + 2 doubles per signal; each rank transforms its rows there (NumPy's rfft has
# no `out`, so the spectrum is computed, then written over its signal); nothing is moved.
#   mpirun -n 2 python3 bench/fft_batch.py [S] [L] [--shared]
import json, sys
import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank, size = comm.rank, comm.size
args = [a for a in sys.argv[1:] if not a.startswith("--")]
shared = "--shared" in sys.argv
S = int(args[0]) if len(args) > 0 else 3000
L = int(args[1]) if len(args) > 1 else 51200
rows = [S // size + (1 if r < S % size else 0) for r in range(size)]
starts = [sum(rows[:r]) for r in range(size)]

W = L // 2 + 1

# Warm-up, as batch.ts warms its kernels: NumPy plans a length on its first rfft.
np.fft.rfft(np.zeros(L))


def make(out):
    t = np.arange(L)
    f1 = 1 + (np.arange(S) % 97)
    out[...] = np.sin(2 * np.pi * np.outer(f1, t) / L) + 0.1 * (np.random.default_rng(1).random((S, L)) - 0.5)


if shared:
    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    assert node.size == size, "--shared needs every rank on one host"
    win = MPI.Win.Allocate_shared(S * (L + 2) * 8 if node.rank == 0 else 0, 8, comm=node)
    buf, _ = win.Shared_query(0)
    table = np.ndarray(buffer=buf, dtype="d", shape=(S, L + 2))
    if rank == 0:
        make(table[:, :L])
    comm.Barrier()
    t0 = MPI.Wtime()
    mine = slice(starts[rank], starts[rank] + rows[rank])
    table[mine].view(np.complex128)[:, :] = np.fft.rfft(table[mine, :L], axis=1)
    t1 = MPI.Wtime()
    compute = comm.allreduce(t1 - t0, op=MPI.MAX)
    comm.Barrier()  # every spectrum is in the window
    t3 = MPI.Wtime()
    if rank == 0:
        print(json.dumps({"impl": "mpi4py+numpy", "example": "fft-batch", "shared": True, "S": S, "L": L, "n": size, "scatter": 0, "compute": compute, "gather": t3 - t1, "total": t3 - t0}))
    win.Free()
    sys.exit(0)

batch = None
if rank == 0:
    batch = np.empty((S, L))
    make(batch)
mine = np.empty((rows[rank], L))
out = np.empty((S, W), dtype=np.complex128) if rank == 0 else None
for buffer in (mine, out):  # touched now, as in batch.ts: first-touch page faults are not data movement
    if buffer is not None:
        buffer.fill(0)
comm.Barrier()
t0 = MPI.Wtime()
comm.Scatterv([batch, [r * L for r in rows], [s * L for s in starts], MPI.DOUBLE] if rank == 0 else None, mine, root=0)
t1 = MPI.Wtime()
spectra = np.fft.rfft(mine, axis=1)
t2 = MPI.Wtime()
compute = comm.allreduce(t2 - t1, op=MPI.MAX)
comm.Barrier()
t2b = MPI.Wtime()
comm.Gatherv(spectra, [out, [r * W for r in rows], [s * W for s in starts], MPI.DOUBLE_COMPLEX] if rank == 0 else None, root=0)
t3 = MPI.Wtime()
if rank == 0:
    print(json.dumps({"impl": "mpi4py+numpy", "example": "fft-batch", "S": S, "L": L, "n": size, "scatter": t1 - t0, "compute": compute, "gather": t3 - t2b, "total": t3 - t0}))
