import { chown, mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { loadExecutorSettings } from "../../src/config/executor-settings";
import { createLogger } from "../../src/log/logger";
import { createExecutor } from "../../src/runner/executors/create-executor";
import type { JobSandbox } from "../../src/runner/executors/executor";
import { runStep } from "../../src/runner/run-step";
import { atMost, fmt, type Benchmark } from "../lib/benchmark";

/**
 * sandbox-start: a trivial step (`true`) through the runner's step code (`runStep`, masking, output) on the sandbox
 * executor — cgroup made and limited, prepared network namespace taken, bubblewrap + setpriv + bash, the cgroup and
 * namespace removed — against the same step through the same code run as plain `bash -e` (the host executor's way).
 * Alternating rounds; each sandboxed step starts 40 ms after the last one ended, as a runner's next step starts well
 * after its namespace was prepared in the background (the "back to back" figure shows the cost when it was not).
 */

const ROUNDS = Number(process.env.BENCH_SANDBOX_ROUNDS ?? 60);
const TARGET_MS = 15;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sink = () => ({ write: () => undefined });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const sandboxStart: Benchmark = {
  name: "sandbox-start",
  title: `a step running \`true\` through the sandbox executor vs plain bash through the same runner code; ${ROUNDS} rounds`,
  async run() {
    const root = await mkdtemp(path.join(os.tmpdir(), "pipelines-bench-sandbox-"));
    const settings = loadExecutorSettings({}, 1);
    const log = createLogger({ bench: "sandbox-start" });
    const executor = await createExecutor({ settings, workDir: path.join(root, "work"), stateDir: path.join(root, "state"), slots: 1, runnerName: "bench", inProcess: false, log });
    const job = await executor.job(0);
    const plain = path.join(root, "plain");
    await mkdir(plain);
    let n = 0;
    const sandboxed = async (pause: number): Promise<number> => {
      await sleep(pause);
      const dirs = await stepDirs(job, ++n);
      const t = performance.now();
      const sandbox = await job.step({ jobId: 1, stepIndex: n, applicationId: 1, env: {}, dirs, size: 1, services: [], pipes: [] });
      const result = await runStep({
        script: ["true"],
        cwd: dirs.workTree,
        env: { HOME: sandbox.paths.home },
        secrets: [],
        maxTimeMs: 60_000,
        output: sink(),
        run: (commands, env, output, graceMs) => sandbox.run({ commands, env, output, secrets: [], graceMs }),
      });
      await sandbox.teardown();
      const ms = performance.now() - t;
      if (result.state !== "SUCCESSFUL") throw new Error(`the sandboxed step ended ${result.state}`);
      return ms;
    };
    const bare = async (): Promise<number> => {
      const t = performance.now();
      const result = await runStep({ script: ["true"], cwd: plain, env: {}, secrets: [], maxTimeMs: 60_000, output: sink() });
      const ms = performance.now() - t;
      if (result.state !== "SUCCESSFUL") throw new Error(`the plain step ended ${result.state}`);
      return ms;
    };
    try {
      for (let i = 0; i < 5; i++) {
        await sandboxed(40);
        await bare();
      }
      const box: number[] = [];
      const base: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        box.push(await sandboxed(40));
        base.push(await bare());
      }
      const backToBack: number[] = [];
      for (let i = 0; i < 20; i++) backToBack.push(await sandboxed(0));
      const overhead = median(box) - median(base);
      return {
        figures: [
          { label: "plain bash step", value: `${fmt.ms(median(base))} median` },
          { label: "sandboxed step", value: `${fmt.ms(median(box))} median (p90 ${fmt.ms([...box].sort((a, b) => a - b)[Math.floor(box.length * 0.9)])})` },
          { label: "overhead", value: `${fmt.ms(overhead)} (${fmt.ratio(median(box) / median(base))} the plain step)` },
          { label: "back to back", value: `${fmt.ms(median(backToBack))} median when each step starts as the last one ends (its network namespace made on the spot)` },
          { label: "executor", value: executor.describe() },
        ],
        checks: [atMost("sandbox overhead (median − median)", overhead, TARGET_MS, fmt.ms)],
      };
    } finally {
      await job.release();
      await executor.close();
      await rm(root, { recursive: true, force: true });
    }
  },
};

/** A step's work tree, HOME and /tmp in the job's filesystem, owned by the step's uid. */
async function stepDirs(job: JobSandbox, n: number) {
  const dirs = { workTree: path.join(job.dir, `step-${n}`), home: path.join(job.dir, `home-${n}`), tmp: path.join(job.dir, `tmp-${n}`), repoObjects: null };
  for (const dir of [dirs.workTree, dirs.home, dirs.tmp]) {
    await mkdir(dir, { mode: 0o700 });
    if (job.owner) await chown(dir, job.owner.uid, job.owner.gid);
  }
  return dirs;
}
