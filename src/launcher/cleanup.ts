/** What a job must undo however it ends (timers, signal handlers, sockets, its directory), undone last first. */
export class Cleanup {
  private readonly steps: Array<() => void> = [];

  /** Undo `step` at the end, before whatever was deferred earlier. */
  defer(step: () => void): void {
    this.steps.push(step);
  }

  run(): void {
    for (const step of this.steps.splice(0).reverse()) step();
  }
}
