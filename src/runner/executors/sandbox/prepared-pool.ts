/**
 * Things made ahead of time, one waiting per slot (a job's filesystem, a step's network namespace), so a job or step
 * does not wait for their making. `take` hands over the waiting one (or makes one now); the caller calls `prepare`
 * once what it took is done with — not at once: making one starts processes, and starting a process holds the event
 * loop for milliseconds, which the step being started should not wait for. A failure to make one shows when it is
 * taken. `close` releases whatever is still waiting.
 */
export class PreparedPool<T extends { release(): Promise<void> }> {
  private readonly waiting = new Map<number, Promise<T>>();
  private closed = false;

  constructor(private readonly make: (slot: number) => Promise<T>) {}

  async take(slot: number): Promise<T> {
    const ready = this.waiting.get(slot) ?? this.make(slot);
    this.waiting.delete(slot);
    return ready;
  }

  /** Starts making the next one of `slot` in the background, unless one is waiting already. */
  prepare(slot: number): void {
    if (this.waiting.has(slot) || this.closed) return;
    const next = this.make(slot);
    next.catch(() => undefined);
    this.waiting.set(slot, next);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const p of all) await p.then((item) => item.release(), () => undefined);
  }
}
