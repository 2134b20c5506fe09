/**
 * Checks pipeline files off the event loop. A pipeline file is written by whoever can push to an installed
 * repository; reading it (YAML, validation, glob matching, planning) happens in a small pool of warm worker
 * threads, each request with a time budget. A request that overruns its budget has its worker terminated (and a
 * fresh one started): the file is refused with a clear message, and it has cost at most its budget — the service's
 * own event loop, and so every other workspace's webhooks and pages, never waits for it.
 *
 * Workers are started with the pool and warmed up (the schema compiled) before they take work, so an ordinary file
 * costs a message to a warm thread. Workers do not keep the process alive.
 */
import path from "node:path";
import { Worker } from "node:worker_threads";
import type { Diagnostic } from "../diagnostic";
import type { FileCheckRequest, FileCheckResult, PipelineFileCheck } from "../check-file";
import { count, DEFAULT_LIMITS, type PipelineFileLimits } from "../limits";
import type { FromWorker, ToWorker } from "./check-worker";

export interface FileCheckerOptions {
  limits?: PipelineFileLimits;
  /** How long one file may take, from the moment a warm worker starts on it. */
  timeBudgetMs?: number;
  /** How many worker threads check files at once. */
  workers?: number;
  /** The heap one worker may use, in MB. */
  memoryMb?: number;
}

export const DEFAULT_TIME_BUDGET_MS = 3000;
export const DEFAULT_WORKERS = 1;
export const DEFAULT_WORKER_MEMORY_MB = 256;

/** Workers that die before they are ready this many times in a row mean the pool cannot work at all. */
const MAX_FAILED_STARTS = 3;

interface Job {
  request: FileCheckRequest;
  resolve(result: FileCheckResult): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  busy?: { id: number; job: Job; timer: NodeJS.Timeout };
}

function refusal(message: string): FileCheckResult {
  const error: Diagnostic = { line: 1, column: 1, message };
  return { ok: false, errors: [error], warnings: [], selections: [], custom: [] };
}

/**
 * The worker module beside this one: compiled JavaScript in production; under tsx (tests, `npm run` scripts) the
 * TypeScript source, loaded through tsx's require hook inside the worker.
 */
function startWorker(limits: PipelineFileLimits, memoryMb: number): Worker {
  const extension = path.extname(__filename);
  const file = path.join(__dirname, `check-worker${extension}`);
  const options = { workerData: { limits }, execArgv: [], resourceLimits: { maxOldGenerationSizeMb: memoryMb, stackSizeMb: 4 } };
  if (extension !== ".ts") return new Worker(file, options);
  const tsx = require.resolve("tsx/cjs");
  return new Worker(`require(${JSON.stringify(tsx)}); require(${JSON.stringify(file)});`, { ...options, eval: true });
}

export class PipelineFileChecker implements PipelineFileCheck {
  readonly limits: PipelineFileLimits;
  readonly timeBudgetMs: number;
  private readonly memoryMb: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private failedStarts = 0;
  private broken: Error | undefined;
  private closed = false;

  constructor(options: FileCheckerOptions = {}) {
    this.limits = options.limits ?? { ...DEFAULT_LIMITS };
    this.timeBudgetMs = options.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS;
    this.memoryMb = options.memoryMb ?? DEFAULT_WORKER_MEMORY_MB;
    const workers = Math.max(1, options.workers ?? DEFAULT_WORKERS);
    for (let i = 0; i < workers; i++) this.slots.push(this.spawn());
  }

  check(request: FileCheckRequest): Promise<FileCheckResult> {
    if (this.closed) return Promise.reject(new Error("the pipeline file checker is stopped"));
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.dispatch();
    });
  }

  /** Resolves once every worker has warmed up (tests and benchmarks wait for it; the service need not). */
  async ready(): Promise<void> {
    while (!this.closed && !this.broken && this.slots.some((s) => !s.ready)) await new Promise((r) => setTimeout(r, 10));
    if (this.broken) throw this.broken;
  }

  /** Stops the workers; requests still waiting are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const stopping = new Error("the pipeline file checker is stopped");
    for (const job of this.queue.splice(0)) job.reject(stopping);
    const slots = this.slots.splice(0);
    for (const slot of slots) {
      if (slot.busy) {
        clearTimeout(slot.busy.timer);
        slot.busy.job.reject(stopping);
      }
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const worker = startWorker(this.limits, this.memoryMb);
    worker.unref();
    const slot: Slot = { worker, ready: false };
    worker.on("message", (message: FromWorker) => this.onMessage(slot, message));
    worker.on("error", (err: Error & { code?: string }) => {
      const why =
        err.code === "ERR_WORKER_OUT_OF_MEMORY"
          ? `checking this file needed more than ${count(this.memoryMb)} MB of memory (the memory limit for a pipeline file), so it was stopped`
          : `the file could not be checked: ${err.message}`;
      this.onFailure(slot, why, err);
    });
    worker.on("exit", (code) => this.onFailure(slot, `the file could not be checked: its checker stopped (exit code ${code})`));
    return slot;
  }

  /** Puts a fresh worker where `slot` was, and stops the old one. */
  private replace(slot: Slot): void {
    const at = this.slots.indexOf(slot);
    if (at === -1) return;
    this.slots.splice(at, 1);
    void slot.worker.terminate();
    if (!this.closed && !this.broken) this.slots.push(this.spawn());
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (!slot.ready || slot.busy) continue;
      const job = this.queue.shift() as Job;
      const id = this.nextId++;
      const timer = setTimeout(() => this.overrun(slot), this.timeBudgetMs);
      slot.busy = { id, job, timer };
      slot.worker.postMessage({ id, request: job.request } satisfies ToWorker);
    }
  }

  private overrun(slot: Slot): void {
    const busy = slot.busy;
    if (!busy) return;
    slot.busy = undefined;
    this.replace(slot);
    busy.job.resolve(
      refusal(`checking this file took longer than ${count(this.timeBudgetMs)} ms (the time budget for a pipeline file), so it was stopped: make the file smaller or simpler`),
    );
    this.dispatch();
  }

  private onMessage(slot: Slot, message: FromWorker): void {
    if (!this.slots.includes(slot)) return;
    if (message.type === "ready") {
      slot.ready = true;
      this.failedStarts = 0;
      this.dispatch();
      return;
    }
    const busy = slot.busy;
    if (!busy || busy.id !== message.id) return;
    clearTimeout(busy.timer);
    slot.busy = undefined;
    if (message.type === "result") busy.job.resolve(message.result);
    else busy.job.resolve(refusal(`the file could not be checked: ${message.message}`));
    this.dispatch();
  }

  private onFailure(slot: Slot, why: string, cause?: Error): void {
    if (this.closed || !this.slots.includes(slot)) return;
    const busy = slot.busy;
    slot.busy = undefined;
    if (busy) {
      clearTimeout(busy.timer);
      busy.job.resolve(refusal(why));
    } else if (!slot.ready && ++this.failedStarts >= MAX_FAILED_STARTS) {
      this.broken = new Error(`the pipeline file checker cannot start its worker threads: ${cause?.message ?? why}`);
      for (const job of this.queue.splice(0)) job.reject(this.broken);
    }
    this.replace(slot);
    this.dispatch();
  }
}
