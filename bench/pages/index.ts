import http from "node:http";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { atMost, fmt, type Benchmark, type Figure } from "../lib/benchmark";
import { forkChild, profileOptions } from "../lib/child";
import { startBitbucketCloud } from "../../test/standin/cloud";
import { mintToken } from "../../test/support/connect-tokens";
import type { SeedMessage } from "./server-process";

/**
 * pages: p99 latency of the repository panel and the builds page (GET with the iframe JWT, as Bitbucket opens them)
 * for an application with 100 000 builds, against the same pages of an application with 100 builds in the same
 * service, in the same run. The service runs in a process of its own; this process is the client: one keep-alive
 * connection, requests one after another, the four pages in turn so that whatever the machine does meanwhile falls on
 * all of them alike.
 */

const BIG = Number(process.env.BENCH_PAGES_BUILDS ?? 100_000);
const SMALL = 100;
const REQUESTS = Number(process.env.BENCH_PAGES_REQUESTS ?? 2000);
const WARMUP = 200;
const TARGET_P99_MS = 30;
const TARGET_RATIO = 1.5;
const WORKSPACE = "bench";

interface Target {
  label: string;
  path: string;
  /** Text the answer must hold (the page really shows the builds). */
  expect: RegExp;
  times: number[];
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

/** One GET on the keep-alive agent: status, body and milliseconds from the request to the last byte. */
function get(agent: http.Agent, url: string): Promise<{ status: number; body: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), ms: performance.now() - t0 }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

export const pages: Benchmark = {
  name: "pages",
  title: `p99 of the panel and the builds page at ${fmt.count(BIG)} builds vs the same pages at ${SMALL} builds (sqlite, iframe JWT)`,
  async run() {
    const bb = await startBitbucketCloud();
    const server = forkChild(path.join(__dirname, "server-process.ts"), { env: { LOG_LEVEL: "error" }, nodeOptions: profileOptions("pages-service") });
    server.process.on("error", () => undefined); // a "stop" sent to a child that already failed: its error is reported
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const { url } = await server.next<{ type: "ready"; url: string }>("ready");
      const repos = { big: await bb.createRepository(WORKSPACE, "big"), small: await bb.createRepository(WORKSPACE, "small") };
      const inst = await bb.install(url, { workspace: WORKSPACE });
      if (inst.status !== 204) throw new Error(`install answered ${inst.status}`);
      const secret = bb.currentSecret(inst.clientKey) ?? inst.sharedSecret;
      const context = `JWT ${mintToken({ clientKey: inst.clientKey, secret, context: true })}`;

      const seeded: Figure[] = [];
      for (const [name, count] of [["big", BIG], ["small", SMALL]] as const) {
        const res = await fetch(`${url}/api/applications`, {
          method: "POST",
          headers: { Authorization: context, "Content-Type": "application/json" },
          body: JSON.stringify({ repository: `${WORKSPACE}/${repos[name].slug}` }),
        });
        if (res.status !== 201) throw new Error(`creating ${name} answered ${res.status}: ${await res.text()}`);
        const { id } = (await res.json()) as { id: number };
        const done = server.next<{ type: "seeded"; rows: number; ms: number }>("seeded");
        server.send({ type: "seed", applicationId: id, count, mainBranch: "main" } satisfies SeedMessage);
        const { rows, ms } = await done;
        if (rows !== count) throw new Error(`seeded ${rows} builds in ${name}, not ${count}`);
        seeded.push({ label: `seeding ${fmt.count(count)} builds`, value: fmt.ms(ms) });
      }

      const targets: Target[] = [];
      for (const name of ["big", "small"] as const) {
        const query = `repoUuid=${encodeURIComponent(`{${name}}`)}&repoPath=${encodeURIComponent(`${WORKSPACE}/${repos[name].slug}`)}`;
        const count = name === "big" ? BIG : SMALL;
        targets.push({ label: `panel, ${fmt.count(count)} builds`, path: `/pages/panel?${query}`, expect: /data-testid="recent-build"/, times: [] });
        targets.push({ label: `builds page, ${fmt.count(count)} builds`, path: `/pages/builds?${query}`, expect: /data-testid="build-row"/, times: [] });
      }
      // The token a page is opened with: its qsh covers the page's path and query, so one per URL (valid for an hour).
      const urls = targets.map((t) => {
        const [p, q] = t.path.split("?");
        return `${url}${t.path}&jwt=${mintToken({ clientKey: inst.clientKey, secret, method: "GET", path: p, query: q })}`;
      });
      for (const [i, t] of targets.entries()) {
        const first = await get(agent, urls[i]);
        if (first.status !== 200 || !t.expect.test(first.body)) throw new Error(`${t.label} answered ${first.status}: ${first.body.slice(0, 300)}`);
      }

      for (let round = 0; round < WARMUP + REQUESTS; round++) {
        for (const [i, t] of targets.entries()) {
          const r = await get(agent, urls[i]);
          if (r.status !== 200) throw new Error(`${t.label} answered ${r.status} in round ${round}`);
          if (round >= WARMUP) t.times.push(r.ms);
        }
      }

      const [panelBig, buildsBig, panelSmall, buildsSmall] = targets.map((t) => ({ p50: percentile(t.times, 50), p99: percentile(t.times, 99) }));
      const figures: Figure[] = [
        ...seeded,
        { label: "requests per page (after warm-up)", value: `${fmt.count(REQUESTS)} (+${WARMUP}), one connection, one at a time` },
        ...targets.map((t) => ({ label: `${t.label}: p50 / p99`, value: `${fmt.ms(percentile(t.times, 50))} / ${fmt.ms(percentile(t.times, 99))}` })),
      ];
      return {
        figures,
        checks: [
          atMost(`panel p99 at ${fmt.count(BIG)} builds`, panelBig.p99, TARGET_P99_MS, fmt.ms),
          atMost(`builds page p99 at ${fmt.count(BIG)} builds`, buildsBig.p99, TARGET_P99_MS, fmt.ms),
          atMost(`panel p99 ratio (${fmt.count(BIG)} / ${SMALL} builds)`, panelBig.p99 / panelSmall.p99, TARGET_RATIO, fmt.ratio),
          atMost(`builds page p99 ratio (${fmt.count(BIG)} / ${SMALL} builds)`, buildsBig.p99 / buildsSmall.p99, TARGET_RATIO, fmt.ratio),
        ],
      };
    } finally {
      agent.destroy();
      if (server.process.connected) server.send({ type: "stop" });
      await server.exited;
      await bb.stop();
    }
  },
};
