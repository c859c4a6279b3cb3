# mpi4py + NumPy twin of examples/fft/batch.ts: rank 0 makes S signals of L samples, Scatterv
# of rows (buffer API), np.fft.rfft on each rank's rows, Gatherv of the spectra at rank 0.
#   mpirun -n 2 python3 bench/fft_batch.py [S] [L]
import json, sys
import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank, size = comm.rank, comm.size
S = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
L = int(sys.argv[2]) if len(sys.argv) > 2 else 51200
rows = [S // size + (1 if r < S % size else 0) for r in range(size)]
starts = [sum(rows[:r]) for r in range(size)]

t0 = MPI.Wtime()
batch = None
if rank == 0:
    t = np.arange(L)
    f1 = 1 + (np.arange(S) % 97)
    batch = np.sin(2 * np.pi * np.outer(f1, t) / L) + 0.1 * (np.random.default_rng(1).random((S, L)) - 0.5)
comm.Barrier()
t0 = MPI.Wtime()
mine = np.empty((rows[rank], L))
comm.Scatterv([batch, [r * L for r in rows], [s * L for s in starts], MPI.DOUBLE] if rank == 0 else None, mine, root=0)
t1 = MPI.Wtime()
spectra = np.fft.rfft(mine, axis=1)
t2 = MPI.Wtime()
compute = comm.allreduce(t2 - t1, op=MPI.MAX)
comm.Barrier()
t2b = MPI.Wtime()
W = L // 2 + 1
out = np.empty((S, W), dtype=np.complex128) if rank == 0 else None
comm.Gatherv(spectra, [out, [r * W for r in rows], [s * W for s in starts], MPI.DOUBLE_COMPLEX] if rank == 0 else None, root=0)
t3 = MPI.Wtime()
if rank == 0:
    print(json.dumps({"impl": "mpi4py+numpy", "example": "fft-batch", "S": S, "L": L, "n": size, "scatter": t1 - t0, "compute": compute, "gather": t3 - t2b, "total": t3 - t0}))
