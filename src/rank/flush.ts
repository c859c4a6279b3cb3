/**
 * Exit only after stdout and stderr have drained: a write to a pipe whose reader is slow is
 * queued, and `process.exit` would drop it. Bounded, so a reader that never reads cannot hang us.
 */
import process from "node:process";
export async function flushAndExit(code: number, limitMs = 2000): Promise<never> {
  const drained = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => (stream.writableLength === 0 ? resolve() : stream.write("", () => resolve())));
  const timer = new Promise<void>((resolve) => setTimeout(resolve, limitMs).unref());
  await Promise.race([Promise.all([drained(process.stdout), drained(process.stderr)]), timer]);
  process.exit(code);
}
