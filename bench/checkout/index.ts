import fs from "node:fs";
import path from "node:path";
import { atMost, fmt, type Benchmark } from "../lib/benchmark";
import { benchServiceEnv } from "../lib/service-env";
import { startBitbucketCloud, type BitbucketCloud } from "../../test/standin/cloud";
import { mintToken } from "../../test/support/connect-tokens";
import { start } from "../../src/server";
import { createLogger } from "../../src/log/logger";
import { benchHistory, COMMITS, seedRepository } from "./history";

/**
 * checkout: a repository of 2,000 commits and ~50 MB of history (history.ts), served by the Bitbucket Cloud stand-in
 * over git smart HTTP; the real service with its in-process runner (default sandbox executor, default clone depth
 * 50). Judged per build: the checkout phase, as the runner logs it ("checked out in N ms": from before the mirror's
 * lock to the step's work tree made — mirror update, the job's copy, the step's clone). Printed for reference: from
 * the step's start (Step.startedAt, recorded when the runner says the step starts, before anything is fetched) to its
 * script's first command (which prints the clock), i.e. also starting the sandbox. The baseline, in the same run, is the first build on a
 * runner with no mirror (a fresh checkout of the whole history); the figure is the second build, one commit later.
 * Both are medians over BENCH_ROUNDS (5) rounds, the mirror removed before each round's first build, because the
 * machine is shared and a single pair is noisy.
 */

const TARGET_RATIO = 0.25;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const STAMP = "echo STARTED_AT=$(date +%s%3N)";
const PIPELINE = `pipelines:\n  default:\n    - step:\n        name: Stamp\n        script:\n          - ${STAMP}\n`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function waitFor<T>(what: string, check: () => Promise<T | null | undefined>, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Measured {
  /** The checkout phase: the runner's own "checked out in N ms" (mirror update, the job's copy, the step's clone). */
  checkoutMs: number;
  /** Step start → the script's first command (the checkout plus starting the sandbox). */
  ms: number;
  /** Bytes the stand-in sent to git fetches of the repository for this build. */
  packBytes: number;
}

export const checkout: Benchmark = {
  name: "checkout",
  title: `a second build's checkout vs the first (fresh) one: ${COMMITS} commits, ~50 MB of history over git smart HTTP (step start → script start)`,
  async run() {
    const started = Date.now();
    const history = await benchHistory();
    const generatedMs = Date.now() - started;
    const { env, dataDir } = benchServiceEnv("bench-checkout", { LOG_LEVEL: "error" });
    const logLevel = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = "error";
    let bb: BitbucketCloud | null = null;
    let server: Awaited<ReturnType<typeof start>> | null = null;
    try {
      bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
      const cloud = bb;
      server = await start(env, createLogger({ bench: true }), { pollMs: 100 });
      const { models } = server.storage;
      await cloud.createRepository("bench", "big");
      seedRepository(history, cloud.gitDir("bench", "big"));
      const inst = await cloud.install(server.url, { workspace: "bench" });
      if (inst.status !== 204) throw new Error(`install answered ${inst.status}`);
      const token = mintToken({ clientKey: inst.clientKey, secret: cloud.currentSecret(inst.clientKey) ?? inst.sharedSecret, context: true });
      const created = await fetch(`${server.url}/api/applications`, {
        method: "POST",
        headers: { Authorization: `JWT ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ repository: "bench/big" }),
      });
      if (created.status !== 201) throw new Error(`creating the application answered ${created.status}`);
      const { id: applicationId } = (await created.json()) as { id: number };
      const serverUrl = server.url;

      const build = async (files: Record<string, string>, message: string): Promise<Measured> => {
        const from = cloud.gitCalls.length;
        const { commit, delivery } = await cloud.pushAndNotify(serverUrl, inst.clientKey, "bench", "big", { files, message });
        if (delivery.status !== 202) throw new Error(`the push answered ${delivery.status}`);
        const b = await waitFor(`the build of ${message}`, async () => {
          const found = await models.Build.findOne({ where: { applicationId, commit: commit.hash } });
          return found && ["SUCCESSFUL", "FAILED", "STOPPED"].includes(found.state) ? found : null;
        });
        const step = await models.Step.findOne({ where: { buildId: b.id, index: 0 } });
        const chunks = await models.LogChunk.findAll({ where: { stepId: step?.id ?? -1 }, order: [["offset", "ASC"]] });
        const log = Buffer.concat(chunks.map((c) => c.data)).toString("utf8");
        if (b.state !== "SUCCESSFUL") throw new Error(`the build of ${message} ended ${b.state}:\n${log}`);
        const stamp = /STARTED_AT=(\d+)/.exec(log);
        const checkedOut = /checked out in (\d+) ms/.exec(log);
        if (!checkedOut) throw new Error(`the step of ${message} did not say how long its checkout took:\n${log}`);
        if (!stamp || !step?.startedAt) throw new Error(`the step of ${message} did not print its start time:\n${log}`);
        const packBytes = cloud.gitCalls.slice(from).filter((c) => c.path === "/bench/big.git/git-upload-pack").reduce((n, c) => n + c.responseBytes, 0);
        return { checkoutMs: Number(checkedOut[1]), ms: Number(stamp[1]) - step.startedAt.getTime(), packBytes };
      };

      // Rounds of (fresh, second): before each fresh build the runner's mirrors are removed (the runner is idle then).
      const mirrors = path.join(dataDir, "runner", "state", "mirrors");
      const fresh: Measured[] = [];
      const again: Measured[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        fs.rmSync(mirrors, { recursive: true, force: true });
        fresh.push(await build({ "bitbucket-pipelines.yml": PIPELINE, "round.txt": `${round}\n` }, `fresh build ${round + 1} (no mirror)`));
        again.push(await build({ "notes.txt": `one more commit ${round}\n` }, `second build ${round + 1}`));
      }
      const first = median(fresh.map((m) => m.checkoutMs));
      const second = median(again.map((m) => m.checkoutMs));
      const ratio = second / Math.max(1, first);
      const toScript = median(again.map((m) => m.ms)) / Math.max(1, median(fresh.map((m) => m.ms)));
      const list = (ms: number[]) => ms.map((m) => fmt.ms(m)).join(", ");
      return {
        figures: [
          { label: "history generated or reused", value: fmt.ms(generatedMs) },
          { label: `first build's checkout (fresh: no mirror), median of ${ROUNDS}`, value: `${fmt.ms(first)}  (${list(fresh.map((m) => m.checkoutMs))})` },
          { label: "  fetched over HTTP per fresh build", value: fmt.mb(median(fresh.map((m) => m.packBytes))) },
          { label: `second build's checkout (one commit later, from the mirror), median of ${ROUNDS}`, value: `${fmt.ms(second)}  (${list(again.map((m) => m.checkoutMs))})` },
          { label: "  fetched over HTTP per second build", value: `${fmt.count(median(again.map((m) => m.packBytes)))} bytes` },
          { label: "second / first checkout (medians)", value: fmt.ratio(ratio) },
          { label: "for reference, step start → script: first", value: `${fmt.ms(median(fresh.map((m) => m.ms)))}  (${list(fresh.map((m) => m.ms))})` },
          { label: "for reference, step start → script: second", value: `${fmt.ms(median(again.map((m) => m.ms)))}  (${list(again.map((m) => m.ms))}), ratio ${fmt.ratio(toScript)}` },
        ],
        checks: [atMost("second build's checkout / first build's", ratio, TARGET_RATIO, fmt.ratio)],
      };
    } finally {
      await server?.stop();
      await bb?.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      if (logLevel === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = logLevel;
    }
  },
};
