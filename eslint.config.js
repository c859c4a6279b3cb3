// Lint rules: typescript-eslint's recommended set on sources, tests, examples and benchmarks;
// functions in src/ stay under 80 lines and take at most 6 parameters.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "scratch/**", "bench/results/**", "test/fixtures/syntax-error.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        Buffer: "readonly",
        console: "readonly",
        setTimeout: "readonly",
        setImmediate: "readonly",
        performance: "readonly",
        URL: "readonly",
        SharedArrayBuffer: "readonly",
        Atomics: "readonly",
      },
    },
  },
  {
    // Small steps: a function that does not fit on a screen or two is split into named ones;
    // one that needs more than six parameters takes an object that groups them (issue 34).
    files: ["src/**/*.ts"],
    rules: { "max-lines-per-function": ["error", { max: 80 }], "max-params": ["error", 6] },
  },
);
