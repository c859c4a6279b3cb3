# mpi4py twins of examples/gray-scott/gray-scott.ts: the same model, parameters, initial
# condition and decomposition (Compute_dims + Create_cart, periodic, the same block bounds),
# halos exchanged every step with Irecv/Isend of packed edges, then the block updated with
#   numpy: NumPy slices (the course's vectorised version, with its temporaries), or
#   numba:  an @njit loop over the block (serial per rank: the ranks are the parallelism; JIT
#           compile excluded from the timing).
# The operations are in the TypeScript kernel's order, so the checksum of U and V must match.
#   mpirun -n 2 python3 bench/gray_scott.py [numpy|numba] [SIZE] [STEPS]
import hashlib, json, sys
import numpy as np
from mpi4py import MPI

kernel = sys.argv[1] if len(sys.argv) > 1 else "numpy"
rows = cols = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 200
Du, Dv, F, k, dt = 0.16, 0.08, 0.035, 0.06, 1.0
Fk = F + k

comm = MPI.COMM_WORLD
dims = MPI.Compute_dims(comm.size, 2)
cart = comm.Create_cart(dims, periods=[True, True])
pr, pc = cart.Get_coords(cart.rank)
part = lambda n, parts, p: (p * n) // parts
r0, r1 = part(rows, dims[0], pr), part(rows, dims[0], pr + 1)
c0, c1 = part(cols, dims[1], pc), part(cols, dims[1], pc + 1)
nx, ny = r1 - r0, c1 - c0

M32 = 0xFFFFFFFF


def hash2(a, b):
    """model.ts hash2 on uint64 arrays or ints (32-bit wrap-around)."""
    h = ((a * 0x9E3779B1) & M32) ^ (((b + 0x7F4A7C15) * 0x85EBCA6B) & M32)
    h = ((h ^ (h >> 16)) * 0x85EBCA6B) & M32
    h = ((h ^ (h >> 13)) * 0xC2B2AE35) & M32
    return h ^ (h >> 16)


def initial():
    U = np.zeros((nx + 2, ny + 2))
    V = np.zeros((nx + 2, ny + 2))
    gi = np.arange(r0, r1, dtype=np.uint64)[:, None] + np.zeros((1, ny), dtype=np.uint64)
    gj = np.arange(c0, c1, dtype=np.uint64)[None, :] + np.zeros((nx, 1), dtype=np.uint64)
    half = max(1, min(rows, cols) // 40)
    seeded = np.zeros((nx, ny), dtype=bool)
    I, J = gi.astype(np.int64), gj.astype(np.int64)
    for s in range(20):
        ci, cj = hash2(s, 1) % rows, hash2(s, 2) % cols
        near_i = np.minimum((I - ci) % rows, (ci - I) % rows) <= half
        near_j = np.minimum((J - cj) % cols, (cj - J) % cols) <= half
        seeded |= near_i & near_j
    U[1:-1, 1:-1] = np.where(seeded, 0.5, 1.0) + 0.02 * (hash2(gi, gj) / 4294967296.0 - 0.5)
    V[1:-1, 1:-1] = np.where(seeded, 0.25, 0.0) + 0.02 * (hash2(gj + np.uint64(7919), gi) / 4294967296.0 - 0.5)
    return U, V


up, down = cart.Shift(0, 1)
left, right = cart.Shift(1, 1)
send = [np.empty((2, ny)), np.empty((2, ny)), np.empty((2, nx)), np.empty((2, nx))]
recv = [np.empty((2, ny)), np.empty((2, ny)), np.empty((2, nx)), np.empty((2, nx))]
peers = [up, down, left, right]


def exchange(U, V):
    # side s: 0 up, 1 down, 2 left, 3 right; a message travelling towards side s has tag s
    edges = [(1, slice(1, -1)), (nx, slice(1, -1)), (slice(1, -1), 1), (slice(1, -1), ny)]
    ghosts = [(0, slice(1, -1)), (nx + 1, slice(1, -1)), (slice(1, -1), 0), (slice(1, -1), ny + 1)]
    for s in range(4):
        send[s][0] = U[edges[s]]
        send[s][1] = V[edges[s]]
    reqs = [cart.Irecv(recv[s], source=peers[s], tag=s ^ 1) for s in range(4)]
    reqs += [cart.Isend(send[s], dest=peers[s], tag=s) for s in range(4)]
    MPI.Request.Waitall(reqs)
    for s in range(4):
        U[ghosts[s]] = recv[s][0]
        V[ghosts[s]] = recv[s][1]


def step_numpy(U, V, U2, V2):
    u, v = U[1:-1, 1:-1], V[1:-1, 1:-1]
    Lu = U[:-2, 1:-1] + U[1:-1, :-2] - 4 * u + U[1:-1, 2:] + U[2:, 1:-1]
    Lv = V[:-2, 1:-1] + V[1:-1, :-2] - 4 * v + V[1:-1, 2:] + V[2:, 1:-1]
    uvv = u * v * v
    U2[1:-1, 1:-1] = u + dt * (Du * Lu - uvv + F * (1 - u))
    V2[1:-1, 1:-1] = v + dt * (Dv * Lv + uvv - Fk * v)


step = step_numpy
if kernel == "numba":
    from numba import njit

    @njit(fastmath=False)
    def step_loop(U, V, U2, V2, Du, Dv, F, Fk, dt):
        for i in range(1, U.shape[0] - 1):
            for j in range(1, U.shape[1] - 1):
                uc = U[i, j]
                vc = V[i, j]
                lu = U[i - 1, j] + U[i, j - 1] - 4 * uc + U[i, j + 1] + U[i + 1, j]
                lv = V[i - 1, j] + V[i, j - 1] - 4 * vc + V[i, j + 1] + V[i + 1, j]
                uvv = uc * vc * vc
                U2[i, j] = uc + dt * (Du * lu - uvv + F * (1 - uc))
                V2[i, j] = vc + dt * (Dv * lv + uvv - Fk * vc)

    step = lambda U, V, U2, V2: step_loop(U, V, U2, V2, Du, Dv, F, Fk, dt)
    step_loop(np.zeros((3, 3)), np.zeros((3, 3)), np.zeros((3, 3)), np.zeros((3, 3)), Du, Dv, F, Fk, dt)  # compile now

U, V = initial()
U2, V2 = np.zeros_like(U), np.zeros_like(V)
U2.fill(0)  # touch the next state's pages now rather than in the first step (as the tsmpi example does)
V2.fill(0)
for _ in range(1000):  # warm-up exchanges, as many as the tsmpi example makes; they only fill the halo
    exchange(U, V)
times = np.zeros(steps)
cart.Barrier()
t0 = MPI.Wtime()
for s in range(steps):
    ts = MPI.Wtime()
    exchange(U, V)
    step(U, V, U2, V2)
    U, U2, V, V2 = U2, U, V2, V
    times[s] = MPI.Wtime() - ts
elapsed = MPI.Wtime() - t0

blocks = cart.gather((r0, r1, c0, c1, U[1:-1, 1:-1].copy(), V[1:-1, 1:-1].copy()), root=0)
slowest = cart.reduce(elapsed, op=MPI.MAX, root=0)
median = cart.reduce(float(np.sort(times)[steps // 2]) if steps > 0 else 0.0, op=MPI.MAX, root=0)
if cart.rank == 0:
    gu, gv = np.empty((rows, cols)), np.empty((rows, cols))
    for a0, a1, b0, b1, bu, bv in blocks:
        gu[a0:a1, b0:b1] = bu
        gv[a0:a1, b0:b1] = bv
    checksum = hashlib.sha256(gu.tobytes() + gv.tobytes()).hexdigest()[:16]
    print(json.dumps({"impl": f"mpi4py+{kernel}", "rows": rows, "cols": cols, "steps": steps, "n": cart.size, "perStep": slowest / max(steps, 1), "medianStep": median, "checksum": checksum}))
