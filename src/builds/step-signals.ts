/**
 * In-process wake-ups for whoever follows a step (the live log): the job service signals when a step's log grows or
 * the step ends. Only a hint — a follower on another web process never hears it, so followers also poll.
 */
export class StepSignals {
  private readonly waiters = new Map<string, Set<() => void>>();

  /** Something about build `buildId`'s step `index` changed (more log, or its state). */
  notify(buildId: number, index: number): void {
    const set = this.waiters.get(`${buildId}:${index}`);
    if (!set) return;
    this.waiters.delete(`${buildId}:${index}`);
    for (const wake of set) wake();
  }

  /** Resolves on the next notify for the step, after `ms`, or when `signal` aborts, whichever comes first. */
  wait(buildId: number, index: number, ms: number, signal?: AbortSignal): Promise<void> {
    const key = `${buildId}:${index}`;
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        const s = this.waiters.get(key);
        s?.delete(done);
        if (s?.size === 0) this.waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done);
      set.add(done);
    });
  }
}
