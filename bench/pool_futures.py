# Twin of bench/pool.ts: mpi4py.futures' MPICommExecutor on the same cases.
#   mpirun -n 4 python3 bench/pool_futures.py <empty tasks> <costs.json>
import json
import sys
import time

from mpi4py import MPI
from mpi4py.futures import MPICommExecutor, wait


def empty(x):
    return x


def work(ms):
    t0 = time.perf_counter()
    time.sleep(ms / 1000)
    return (time.perf_counter() - t0) * 1000


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    costs_file = sys.argv[2] if len(sys.argv) > 2 else None
    comm = MPI.COMM_WORLD
    with MPICommExecutor(comm, root=0) as pool:
        if pool is None:
            return
        workers = comm.Get_size() - 1
        items = list(range(count))

        def row(**fields):
            print(json.dumps({"bench": "pool", "impl": "mpi4py", "n": comm.Get_size(), **fields}), flush=True)

        cases = [
            ("map", lambda xs: list(pool.map(empty, xs))),  # chunksize=1, the default
            ("map-chunk1", lambda xs: list(pool.map(empty, xs, chunksize=1))),
            ("submit", lambda xs: wait([pool.submit(empty, i) for i in xs])),
        ]
        for _, run in cases:
            run(items[: count // 4])  # warm-up, as bench/pool.ts does
        for kind, run in cases:
            t0 = time.perf_counter()
            run(items)
            row(kind=kind, tasks=count, perSec=count / (time.perf_counter() - t0))
        if costs_file:
            with open(costs_file) as f:
                costs = json.load(f)
            t0 = time.perf_counter()
            slept = list(pool.map(work, costs))
            seconds = time.perf_counter() - t0

            def ideal(ms):
                return (sum(ms) / workers + max(ms)) / 1000

            row(kind="makespan", tasks=len(costs), seconds=seconds, ideal=ideal(costs), idealSlept=ideal(slept))


main()
