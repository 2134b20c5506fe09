import type { Logger } from "../log/logger";

export interface BackgroundLoop {
  /** Run now (new work arrived). */
  wake(): void;
  stop(): Promise<void>;
}

/**
 * Runs `tick` again and again: at once when woken, else after `idleMs` (or the delay `tick` returns). A failing
 * tick is logged and retried after `idleMs`; ticks never overlap. `tick` is told when the loop is stopping, so that
 * it ends early instead of working through a backlog first.
 */
export function backgroundLoop(name: string, log: Logger, idleMs: number, tick: (stopping: () => boolean) => Promise<number | void>): BackgroundLoop {
  let stopping = false;
  let woken = false;
  let timer: NodeJS.Timeout | null = null;
  let resolveSleep: (() => void) | null = null;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      resolveSleep = resolve;
      timer = setTimeout(resolve, ms);
    });
  const loop = (async () => {
    while (!stopping) {
      woken = false;
      let delay = idleMs;
      try {
        const next = await tick(() => stopping);
        if (typeof next === "number") delay = Math.max(0, Math.min(next, idleMs));
      } catch (err) {
        log.error(`${name} failed`, { error: (err as Error).message });
      }
      if (!stopping && !woken) await sleep(delay);
    }
  })();
  return {
    wake() {
      woken = true;
      if (timer) clearTimeout(timer);
      resolveSleep?.();
    },
    async stop() {
      stopping = true;
      this.wake();
      await loop;
    },
  };
}
