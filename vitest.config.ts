import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    // Every test starts real multi-process jobs; two files at a time suit a 2-core machine.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
