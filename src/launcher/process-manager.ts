/**
 * Which process manager started this process as one task of a parallel job: Slurm's srun,
 * MPICH's Hydra (`mpiexec`), Flux, or another that speaks PMI. `--direct` needs one (and says
 * what is missing when there is none); the launcher and `init()` check that none started them
 * several times over, which would run one separate job per task.
 */
import process from "node:process";
import { UsageError } from "../errors.js";
import type { LaunchOptions } from "./options.js";
import type { PmiEndpoint } from "./pmi.js";

/** Where this process runs in a Slurm job step started by srun. */
export interface SlurmTask {
  /** `<job id>.<step id>`, as scancel and squeue -s name it. */
  step: string;
  rank: number;
  size: number;
}

const integer = (env: NodeJS.ProcessEnv, name: string) => (/^\d+$/.test(env[name] ?? "") ? Number(env[name]) : undefined);

/** This process's task in an srun step, or undefined outside one (salloc, sbatch's script, a login shell). */
export function slurmTask(env: NodeJS.ProcessEnv): SlurmTask | undefined {
  const [step, rank, size] = [
    integer(env, "SLURM_STEP_ID"),
    integer(env, "SLURM_PROCID"),
    integer(env, "SLURM_STEP_NUM_TASKS") ?? integer(env, "SLURM_NTASKS"),
  ];
  if (step === undefined || rank === undefined || size === undefined || env.SLURM_JOB_ID === undefined) return undefined;
  return { step: `${env.SLURM_JOB_ID}.${step}`, rank, size };
}

/** The command that starts a job under this process's process manager, as messages name it. */
export function starterOf(env: NodeJS.ProcessEnv): "srun --mpi=pmi2" | "flux run" | "mpiexec" {
  if (slurmTask(env) !== undefined) return "srun --mpi=pmi2";
  if (env.FLUX_JOB_ID !== undefined) return "flux run";
  return "mpiexec";
}

/**
 * The PMI server of this task, from the environment its process manager set.
 * @throws UsageError saying what is missing and how to start the job instead
 */
export function pmiEndpoint(env: NodeJS.ProcessEnv): PmiEndpoint {
  if (env.PMI_FD !== undefined) {
    const slurm = slurmTask(env);
    const [fd, rank, size] = [integer(env, "PMI_FD"), integer(env, "PMI_RANK") ?? slurm?.rank, integer(env, "PMI_SIZE") ?? slurm?.size];
    if (fd === undefined || rank === undefined || size === undefined || size < 1)
      throw new UsageError(
        `--direct: PMI_FD=${JSON.stringify(env.PMI_FD)} needs a socket number with PMI_RANK and PMI_SIZE (got ${JSON.stringify(env.PMI_RANK)} and ${JSON.stringify(env.PMI_SIZE)}); ` +
          "start the job with a PMI-1 process manager, e.g. mpiexec -n N tsmpi --direct app.ts",
      );
    return { fd, rank, size };
  }
  if (env.PMI_PORT !== undefined) {
    const match = /^(.+):(\d+)$/.exec(env.PMI_PORT);
    const id = integer(env, "PMI_ID");
    if (!match || id === undefined)
      throw new UsageError(
        `--direct: PMI_PORT=${JSON.stringify(env.PMI_PORT)} needs the form host:port and PMI_ID a task number (got ${JSON.stringify(env.PMI_ID)})`,
      );
    return { host: match[1]!.replace(/^\[|\]$/g, ""), port: Number(match[2]), id };
  }
  throw new UsageError(noPmi(env));
}

/** What to say when --direct finds no PMI server. */
function noPmi(env: NodeJS.ProcessEnv): string {
  if (slurmTask(env) !== undefined)
    return "--direct: srun gave this task no PMI (PMI_FD is not set): start the step with srun --mpi=pmi2 (or set MpiDefault=pmi2 in slurm.conf)";
  const instead = "or let tsmpi start the ranks: tsmpi -n N app.ts";
  if (env.PMIX_RANK !== undefined || env.OMPI_COMM_WORLD_RANK !== undefined)
    return (
      "--direct: a PMIx process manager started this task (Open MPI's mpirun or prterun: PMIX_RANK is set), and tsmpi speaks PMI-1, not PMIx; " +
      `start it with MPICH's mpiexec (mpiexec.hydra), srun --mpi=pmi2 or flux run, ${instead}`
    );
  return (
    "--direct: no process manager started this process with PMI (neither PMI_FD nor PMI_PORT is set); start each rank under one: " +
    `srun --mpi=pmi2 -n N tsmpi --direct app.ts, mpiexec -n N tsmpi --direct app.ts (MPICH's Hydra) or flux run -n N tsmpi --direct app.ts; ${instead}`
  );
}

/**
 * A launcher started as one of several tasks of a parallel job (by srun, or by a PMI process
 * manager such as mpiexec) would run one separate job per task: say what to run instead (task
 * 0 prints it, every task exits with status 1).
 * @returns the message and this task's rank, or undefined if this is no such task
 */
export function separateJobs(options: LaunchOptions, env: NodeJS.ProcessEnv): { message: string; rank: number } | undefined {
  const slurm = slurmTask(env);
  const [rank, size] = slurm ? [slurm.rank, slurm.size] : [integer(env, "PMI_RANK"), integer(env, "PMI_SIZE")];
  if (rank === undefined || size === undefined || size < 2) return undefined;
  const script = options.script.startsWith(`${process.cwd()}/`) ? options.script.slice(process.cwd().length + 1) : options.script;
  const starter = starterOf(env);
  const who = slurm
    ? `srun started this launcher as task ${rank} of ${size} of Slurm step ${slurm.step}`
    : `${starter.split(" ")[0]} started this launcher as task ${rank} of ${size} (PMI_RANK ${rank}, PMI_SIZE ${size})`;
  const where = slurm ? "run it once inside the allocation" : "run it once";
  return {
    rank,
    message:
      `${who}, so each task would run a separate job. ` +
      `To make the ${size} tasks the ranks of one job, add --direct: ${starter} -n ${size} tsmpi --direct ${script}; ` +
      `to let tsmpi start the ranks, ${where}: tsmpi -n ${size} ${script}`,
  };
}
