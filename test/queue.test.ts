// The matcher's FIFO queue on its own, against a plain array doing the same operations: taking
// the oldest, taking from the middle (a receive matched by a later message), emptying (a
// ping-pong's queue) and the move-down of a queue that never empties.
import { describe, expect, it } from "vitest";
import { Queue } from "../src/comm/engine/queue.js";

describe("the matcher's queue", () => {
  it("keeps first-in, first-out order through every kind of removal, like an array", () => {
    let seed = 7;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const queue = new Queue<number>();
    const model: number[] = [];
    let next = 0;
    let movedDown = false;
    for (let step = 0; step < 20_000; step++) {
      // Phases: grow to a window of ~100, hold it there (never empty: the move-down), drain.
      const phase = Math.floor(step / 2000) % 3;
      const push = phase === 0 ? random(4) !== 0 : phase === 1 ? model.length < 80 || random(2) === 0 : random(4) === 0;
      if (push) {
        queue.push(next);
        model.push(next++);
      } else {
        const index = model.length === 0 ? -1 : random(5) === 0 ? random(model.length) : 0;
        const expected = index < 0 ? undefined : model.splice(index, 1)[0];
        expect(queue.removeAt(index)).toBe(expected);
      }
      expect(queue.length).toBe(model.length);
      if (model.length > 0) expect(queue.at(model.length - 1)).toBe(model.at(-1));
      if (phase === 1 && model.length > 64) movedDown = true;
    }
    expect(movedDown).toBe(true);
    expect([...queue]).toEqual(model);
    const wanted = model[Math.floor(model.length / 2)];
    expect(queue.findIndex((item) => item === wanted)).toBe(model.indexOf(wanted!));
    expect(queue.findIndex(() => false)).toBe(-1);
    while (model.length > 0) expect(queue.removeAt(0)).toBe(model.shift());
    expect(queue.length).toBe(0);
    expect(queue.removeAt(-1)).toBeUndefined();
    queue.push(-5);
    expect([...queue]).toEqual([-5]);
  });
});
