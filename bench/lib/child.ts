import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";

/**
 * Benchmarks put the measured program and the load generator in separate processes, so that on a small machine
 * they do not share one event loop (or one core). Children are bench/ TypeScript modules: `fork` reuses this
 * process's execArgv, which under `tsx` carries its loader.
 */

export interface Message {
  type: string;
  [field: string]: unknown;
}

export interface Child {
  process: ChildProcess;
  /** Resolves with the next message of `type`; rejects if the child reports an error or exits first. */
  next<T extends Message>(type: T["type"]): Promise<T>;
  send(message: Message): void;
  /** Resolves when the child has exited (with its exit code). */
  exited: Promise<number | null>;
}

export interface ForkOptions {
  args?: string[];
  /** Added to this process's environment. */
  env?: Record<string, string | undefined>;
  /** Node options added to this process's own (e.g. `--cpu-prof`). */
  nodeOptions?: string[];
}

/**
 * With BENCH_CPU_PROF=<dir>, the Node options that make a child write V8 CPU profiles into `<dir>/<name>/` when it
 * exits, one per thread (tsx's loader has a thread of its own: the main thread's profile is the larger file); open
 * them in Chrome DevTools or speedscope. None otherwise.
 */
export function profileOptions(name: string): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(dir, name)}`] : [];
}

export function forkChild(file: string, options: ForkOptions = {}): Child {
  const child = fork(file, options.args ?? [], {
    env: { ...process.env, ...(options.env ?? {}) },
    execArgv: [...process.execArgv, ...(options.nodeOptions ?? [])],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    process: child,
    exited,
    send: (message) => void child.send(message),
    next<T extends Message>(type: string) {
      return new Promise<T>((resolve, reject) => {
        const onMessage = (m: Message) => {
          if (m.type === type) {
            cleanup();
            resolve(m as T);
          } else if (m.type === "error") {
            cleanup();
            reject(new Error(`${file}: ${String(m.message)}`));
          }
        };
        const onExit = (code: number | null, signal: string | null) => {
          cleanup();
          reject(new Error(`${file} exited (${signal ?? code}) before sending "${type}"`));
        };
        const cleanup = () => {
          child.off("message", onMessage);
          child.off("exit", onExit);
        };
        child.on("message", onMessage);
        child.once("exit", onExit);
      });
    },
  };
}

/** In a child: sends a message to the parent benchmark; resolves once it is handed over. */
export function tell(message: Message): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error("no IPC channel to the parent"));
    process.send(message, undefined, {}, (err: Error | null) => (err ? reject(err) : resolve()));
  });
}

/**
 * In a child: runs `main`, reports a failure to the parent as an `error` message, and exits once the IPC channel
 * closes — when `main` is done (it disconnects) or when the parent goes away, so an interrupted benchmark leaves
 * nothing running.
 */
export function childMain(main: () => Promise<void>): void {
  if (!process.send) {
    console.error("this module is started by bench/run.ts, not by hand");
    process.exit(2);
  }
  process.on("disconnect", () => process.exit());
  main().then(
    () => process.disconnect?.(),
    (err: unknown) => {
      process.exitCode = 1;
      process.send?.({ type: "error", message: err instanceof Error ? (err.stack ?? err.message) : String(err) }, () => process.disconnect?.());
    },
  );
}

/** In a child: the parent's messages, in order, as they arrive (buffered until read). */
export function parentMessages(): { next(): Promise<Message> } {
  const queue: Message[] = [];
  const waiting: Array<(m: Message) => void> = [];
  process.on("message", (m: Message) => {
    const resolve = waiting.shift();
    if (resolve) resolve(m);
    else queue.push(m);
  });
  return {
    next: () => {
      const m = queue.shift();
      return m ? Promise.resolve(m) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}
