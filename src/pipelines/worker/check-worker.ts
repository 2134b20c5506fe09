/**
 * A worker thread that checks pipeline files (see `file-checker.ts`). It warms up first (compiles the schema,
 * exercises the parser) and says "ready"; then it answers one request at a time. Its owner stops it when a request
 * overruns its time budget.
 */
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { checkPipelineFile, type FileCheckRequest } from "../check-file";
import type { PipelineFileLimits } from "../limits";

export interface ToWorker {
  id: number;
  request: FileCheckRequest;
}

export type FromWorker =
  | { type: "ready" }
  | { type: "result"; id: number; result: ReturnType<typeof checkPipelineFile> }
  | { type: "failed"; id: number; message: string };

const WARM_UP = `definitions:
  steps:
    - step: &build
        name: Build
        script: [make]
pipelines:
  default:
    - step: *build
  branches:
    "{main,release/*}":
      - step: {script: [make], trigger: manual}
  custom:
    deploy:
      - variables: [{name: ENV, default: staging}]
      - step: {script: [deploy]}
`;

/**
 * Gives this thread a lower CPU priority than the service's event loop (Linux: a thread is a task with its own nice
 * value, found through /proc/thread-self), so a costly file takes CPU from nothing else. Elsewhere it does nothing.
 */
function yieldToTheEventLoop(): void {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 10);
  } catch {
    // Not Linux, or not allowed: the thread keeps the process's priority.
  }
}

const limits = (workerData as { limits: PipelineFileLimits }).limits;
const port = parentPort;
if (port) {
  yieldToTheEventLoop();
  checkPipelineFile({ text: WARM_UP, triggers: [{ kind: "branch", branch: "main" }], listCustom: true }, limits);
  port.on("message", (message: ToWorker) => {
    let answer: FromWorker;
    try {
      answer = { type: "result", id: message.id, result: checkPipelineFile(message.request, limits) };
    } catch (err) {
      answer = { type: "failed", id: message.id, message: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(answer);
  });
  port.postMessage({ type: "ready" } satisfies FromWorker);
}
