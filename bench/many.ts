// Many ranks on few cores: 20 barriers and 20 allreduces of one number, then exit.
//   tsmpi -n 64 bench/many.ts
import { init } from "tsmpi";

const comm = await init();
let sum = 0;
for (let i = 0; i < 20; i++) {
  await comm.barrier();
  sum = await comm.allreduce(comm.rank);
}
if (comm.rank === 0) console.log(JSON.stringify({ size: comm.size, sum }));
