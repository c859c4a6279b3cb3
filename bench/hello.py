# The Python twin of examples/hello.ts, for the start-up benchmark.
from mpi4py import MPI

comm = MPI.COMM_WORLD
print(f"Hello from rank {comm.rank} of {comm.size}")
