/** Where a step's output goes; a returned promise means "wait before sending more" (back-pressure). */
export interface OutputTarget {
  write(text: string): void | Promise<void>;
  /**
   * True once the target keeps nothing more (a log past its cap): output is then only counted with `discard`, never
   * decoded or masked — a step printing gigabytes after its log is full costs a pipe read and nothing else.
   */
  discarding?(): boolean;
  /** Counts `bytes` of output that were dropped unread (only called while `discarding()` is true). */
  discard?(bytes: number): void;
}

export interface StepOutput {
  /** Sends text on; false when the target is busy and the caller should pause until `drained()`. */
  write(text: string): boolean;
  /** True when the target keeps nothing more: skip decoding and masking, and `discard` the bytes. */
  discarding(): boolean;
  discard(bytes: number): void;
  /** Sends one of the runner's own lines (`[pipelines] …`), starting a new line if the output is mid-line. */
  notice(line: string): void;
  /** Resolves when every write the target has not finished yet has finished. */
  drained(): Promise<void>;
  /** The first error the target threw or rejected with; later text is then dropped. */
  readonly failure: { error: unknown } | null;
}

/**
 * Keeps a step's writes in order to an `OutputTarget`, tracks which are still pending, and reports the first
 * failure through `onFailure` (the step is then stopped: output that cannot be stored must not be lost silently).
 */
export function createStepOutput(target: OutputTarget, onFailure: (error: unknown) => void): StepOutput {
  let pending = 0;
  let waiters: Array<() => void> = [];
  let atLineStart = true;
  let failure: { error: unknown } | null = null;

  const fail = (error: unknown) => {
    if (failure) return;
    failure = { error };
    onFailure(error);
  };
  const settle = () => {
    pending--;
    if (pending > 0) return;
    const ready = waiters;
    waiters = [];
    for (const resolve of ready) resolve();
  };
  const send = (text: string) => {
    if (text.length === 0 || failure) return;
    atLineStart = text.endsWith("\n");
    let result: void | Promise<void>;
    try {
      result = target.write(text);
    } catch (error) {
      fail(error);
      return;
    }
    if (result && typeof result.then === "function") {
      pending++;
      result.then(settle, (error: unknown) => {
        fail(error);
        settle();
      });
    }
  };

  return {
    write(text) {
      send(text);
      return pending === 0;
    },
    discarding() {
      return target.discarding?.() === true;
    },
    discard(bytes) {
      target.discard?.(bytes);
    },
    notice(line) {
      send(`${atLineStart ? "" : "\n"}${line}\n`);
    },
    drained() {
      return pending === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve));
    },
    get failure() {
      return failure;
    },
  };
}
