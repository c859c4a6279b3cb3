// Cartesian topologies: dimsCreate's arithmetic in-process, and the Cartesian communicator and
// neighbourhood collectives in real jobs at several world sizes.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { dimsCreate } from "../src/comm/engine/topology.js";
import { ArgumentError } from "../src/errors.js";
import { fixture, leftovers, runJob } from "./helpers.js";

const CHECKS = 11;

describe("dimsCreate", () => {
  it.each([
    [6, 2, [3, 2]],
    [12, 2, [4, 3]],
    [12, 3, [3, 2, 2]],
    [16, 3, [4, 2, 2]],
    [24, 3, [4, 3, 2]],
    [60, 3, [5, 4, 3]],
    [7, 2, [7, 1]],
    [1, 3, [1, 1, 1]],
    [36, 2, [6, 6]],
    [12, [0, 3], [4, 3]],
    [16, [2, 0, 0], [2, 4, 2]],
    [8, [2, 4], [2, 4]],
  ] as const)("splits %i over %j as MPI_Dims_create does: %j", (n, dims, want) => {
    expect(dimsCreate(n, dims)).toEqual(want);
  });

  it("always returns sizes whose product is nnodes, in non-increasing order", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 4 }), (n, k) => {
        const dims = dimsCreate(n, k);
        expect(dims).toHaveLength(k);
        expect(dims.reduce((a, b) => a * b, 1)).toBe(n);
        expect(dims).toEqual([...dims].sort((a, b) => b - a));
      }),
    );
  });

  it.each([
    [0, 2, "dimsCreate: nnodes must be a positive integer, got 0"],
    [4, 0, "dimsCreate: dims must be a positive integer (the number of dimensions) or an array of sizes, got 0"],
    [4, [3, 0], "dimsCreate: the fixed sizes [3, 0] (product 3) must divide nnodes 4; set some entries to 0 to let dimsCreate choose"],
    [4, [2, 3], "dimsCreate: the fixed sizes [2, 3] (product 6) must divide nnodes 4 exactly; set some entries to 0 to let dimsCreate choose"],
    [4, [2, -1], "dimsCreate: dims entries must be integers ≥ 0 (0 = free), got [2, -1]"],
  ] as const)("refuses dimsCreate(%j, %j) with an ArgumentError", (n, dims, message) => {
    expect(() => dimsCreate(n, dims)).toThrow(new ArgumentError(message));
  });
});

describe("Cartesian communicators", () => {
  it.each([1, 2, 3, 4, 6])("pass the topology suite at -n %i against coordinates computed independently", async (np) => {
    const job = await runJob(np, fixture("cartesian.ts"), [], { timeout: 120_000 });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(CHECKS);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
