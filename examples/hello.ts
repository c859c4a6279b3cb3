// Hello world: every rank says who it is.
//
//   npx tsmpi -n 4 examples/hello.ts
//
// prints, in some order:
//   Hello from rank 0 of 4
//   Hello from rank 1 of 4 ...
import { init } from "tsmpi";

const comm = await init();
console.log(`Hello from rank ${comm.rank} of ${comm.size}`);
