import { chown, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { loadExecutorSettings } from "../../src/config/executor-settings";
import { createLogger } from "../../src/log/logger";
import { createExecutor } from "../../src/runner/executors/create-executor";
import { createLogSink } from "../../src/runner/log-sink";
import { MASK } from "../../src/runner/mask";
import { runStep } from "../../src/runner/run-step";
import { childMain, tell } from "../lib/child";
import { openSqlite } from "../lib/sqlite";
import { COMMANDS, roundSecret, type StepRunMessage, type StepRunMode } from "./step-run";

/**
 * One step run in a fresh process (a runner with nothing else on its heap): `runStep` with a `LogSink` whose
 * chunks are inserted into a sqlite table, while the process's RSS is sampled every 50 ms. argv[2] is the mode, which
 * picks the step's command (see `COMMANDS`); argv[3] is the round, which picks the secret.
 */

const SAMPLE_MS = 50;

childMain(async () => {
  const mode = process.argv[2] as StepRunMode;
  if (!Object.hasOwn(COMMANDS, mode)) throw new Error(`runner-process: unknown mode "${mode}"`);
  const dir = await mkdtemp(join(tmpdir(), "pipelines-bench-step-"));
  try {
    const db = await openSqlite(join(dir, "log.sqlite"));
    await db.run("PRAGMA journal_mode = WAL"); // as the service opens its own sqlite file
    await db.run("CREATE TABLE step_log_chunks (step_id INTEGER NOT NULL, offset INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (step_id, offset))");

    const secret = roundSecret(Number(process.argv[3] ?? 0));
    let chunkRows = 0;
    let insertMs = 0;
    const sink = createLogSink({
      onChunk: async (offset, data) => {
        const t = performance.now();
        await db.run("INSERT INTO step_log_chunks (step_id, offset, data) VALUES (1, ?, ?)", [offset, data]);
        insertMs += performance.now() - t;
        chunkRows++;
      },
    });
    let capReachedMs: number | null = null;
    const output = {
      write: (text: string) => {
        const written = sink.write(text);
        if (capReachedMs === null && sink.truncated) capReachedMs = performance.now() - started;
        return written;
      },
      // As the runner hands the sink itself to runStep: once the log is full, output is counted, not decoded or masked.
      discarding: () => {
        const full = sink.discarding();
        if (full && capReachedMs === null) capReachedMs = performance.now() - started;
        return full;
      },
      discard: (bytes: number) => sink.discard(bytes),
    };
    const script = [`echo "token=$BENCH_SECRET"`, COMMANDS[mode]];

    const rssStart = process.memoryUsage().rss;
    let rssMax = rssStart;
    let samples = 0;
    const sample = () => {
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
      samples++;
    };
    const sampler = setInterval(sample, SAMPLE_MS);
    // The step runs as a runner runs it: in the sandbox executor (the default), in a job's workspace.
    const executor = await createExecutor({ settings: loadExecutorSettings({}, 1), workDir: join(dir, "work"), stateDir: join(dir, "state"), slots: 1, runnerName: "bench", inProcess: false, log: createLogger({ bench: "step-output" }) });
    const job = await executor.job(0);
    const dirs = { workTree: join(job.dir, "step"), home: join(job.dir, "home"), tmp: join(job.dir, "tmp"), repoObjects: null };
    for (const d of [dirs.workTree, dirs.home, dirs.tmp]) {
      await mkdir(d, { mode: 0o700 });
      if (job.owner) await chown(d, job.owner.uid, job.owner.gid);
    }
    const started = performance.now();
    const sandbox = await job.step({ jobId: 1, stepIndex: 0, applicationId: 1, env: {}, dirs, size: 1, services: [], pipes: [] });
    const result = await runStep({
      script,
      cwd: dirs.workTree,
      env: { BENCH_SECRET: secret, HOME: sandbox.paths.home },
      secrets: [secret],
      maxTimeMs: 300_000,
      graceMs: 1000,
      output,
      run: (commands, env, out, graceMs) => sandbox.run({ commands, env, output: out, secrets: [secret], graceMs }),
    });
    await sandbox.teardown();
    await sink.close();
    const wallMs = performance.now() - started;
    await job.release();
    await executor.close();
    clearInterval(sampler);
    sample();

    const rows = await db.all<{ data: Buffer }>("SELECT data FROM step_log_chunks WHERE step_id = 1 ORDER BY offset");
    const log = Buffer.concat(rows.map((r) => r.data)).toString("utf8");
    await db.close();

    await tell({
      type: "result",
      mode,
      state: result.state,
      wallMs,
      rssStart,
      rssMax,
      samples,
      printedBytes: sink.storedBytes + sink.droppedBytes,
      storedBytes: sink.storedBytes,
      droppedBytes: sink.droppedBytes,
      truncated: sink.truncated,
      chunkRows,
      insertMs,
      capReachedMs,
      secretMasked: log.includes(`token=${MASK}\n`) && !log.includes(secret),
    } satisfies StepRunMessage);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
