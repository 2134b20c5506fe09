import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { ExecutorSettings } from "../config/executor-settings";
import type { Logger } from "../log/logger";
import { createExecutor } from "./executors/create-executor";
import { killLeftoverGroups } from "./reap-leftovers";
import { runJob } from "./run-job";
import type { RunnerProtocol } from "./runner-protocol";
import { RUNNER_VERSION } from "./runner-version";
import { runnerLabels } from "../queue/job-labels";

export interface RunnerOptions {
  api: RunnerProtocol;
  name: string;
  workDir: string;
  stateDir: string;
  log: Logger;
  /** How often to ask for work when nothing wakes the runner. Default 1 s. */
  pollMs?: number;
  graceMs?: number;
  /** Jobs run at once. Default 1. */
  slots?: number;
  /** How steps are isolated (PIPELINES_EXECUTOR and the step limits). */
  executor: ExecutorSettings;
  /** The runner inside the web service (`npm start`), where the host executor is refused. */
  inProcess: boolean;
  /** Labels it was given (`--labels`); it also has `self.hosted` and its OS. It claims only jobs whose `runs-on` it all has. */
  labels?: string[];
}

export interface RunningRunner {
  /** Ask for work now (a job was just queued). */
  wake(): void;
  /** Stops claiming, stops running steps and abandons their jobs (they are retried once their lease expires). */
  stop(): Promise<void>;
}

/**
 * A runner: stops whatever a previous runner with the same state directory left running, then claims jobs one at
 * a time and runs them. Used in-process by `npm start` and as `npm run runner` on other machines (same loop,
 * the protocol over HTTP).
 */
export async function startRunner(o: RunnerOptions): Promise<RunningRunner> {
  await mkdir(o.stateDir, { recursive: true, mode: 0o700 });
  await mkdir(o.workDir, { recursive: true, mode: 0o700 });
  const leftovers = await killLeftoverGroups(o.stateDir, o.graceMs ?? 10_000);
  if (leftovers.killed.length) o.log.warn("stopped steps a previous runner left running", { processGroups: leftovers.killed });
  const slots = Math.max(1, o.slots ?? 1);
  const executor = await createExecutor({ settings: { ...o.executor, graceMs: o.graceMs ?? o.executor.graceMs }, workDir: o.workDir, stateDir: o.stateDir, slots, runnerName: o.name, inProcess: o.inProcess, log: o.log });
  o.log.info(`steps run in: ${executor.describe()}`);
  const labels = runnerLabels(o.labels ?? []);
  await o.api.announce?.({ labels, version: RUNNER_VERSION, slots });
  o.log.info(`runner labels: ${labels.join(", ")}`);

  let stopping = false;
  const shutdown = new AbortController();
  const sleepers = new Set<() => void>();
  const wake = () => {
    for (const done of [...sleepers]) done();
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        sleepers.delete(done);
        resolve();
      }
      sleepers.add(done);
    });

  const slot = async (index: number) => {
    while (!stopping) {
      let claimed = false;
      try {
        const spec = await o.api.claim(o.name, labels);
        if (spec) {
          claimed = true;
          o.log.info("running a job", { build: spec.build.id, number: spec.build.number, repository: spec.build.repository, fromStep: spec.startStep });
          await runJob({
            api: o.api,
            spec,
            executor,
            slot: index,
            mirrorDir: join(o.stateDir, "mirrors"),
            graceMs: o.graceMs,
            shutdown: shutdown.signal,
            onError: (e) => o.log.warn("runner error", { error: String(e) }),
          });
        }
      } catch (err) {
        o.log.error("runner loop error", { error: (err as Error).message });
        await sleep(1000);
      }
      if (!claimed && !stopping) await sleep(o.pollMs ?? 1000);
    }
  };
  const loops = Array.from({ length: slots }, (_, i) => slot(i));

  return {
    wake,
    async stop() {
      stopping = true;
      // Running steps are stopped and their jobs abandoned unreported: the lease expires and the build is retried.
      shutdown.abort();
      wake();
      await Promise.all(loops);
      await executor.close();
    },
  };
}
