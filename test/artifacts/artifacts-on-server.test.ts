import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import request from "supertest";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { buildReaches, eventually, installWorld, stepLog, type World } from "../support/build-world";
import { startTestServer, type TestServer } from "../support/test-server";
import { withContext } from "../pages/pages-support";

/** A response body of supertest as bytes. */
const binary = (res: request.Response, cb: (err: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on("data", (c: Buffer) => chunks.push(c));
  res.on("end", () => cb(null, Buffer.concat(chunks)));
};

/** The names and contents of the files of a tar.gz. */
function untar(data: Buffer): Record<string, string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "untar-"));
  try {
    execFileSync("tar", ["-xzf", "-", "-C", dir], { input: data });
    const out: Record<string, string> = {};
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const full = path.join(d, e.name);
        if (e.isDirectory()) walk(full);
        else out[path.relative(dir, full)] = e.isSymbolicLink() ? `-> ${fs.readlinkSync(full)}` : fs.readFileSync(full, "utf8");
      }
    };
    walk(dir);
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Artifacts and caches live on the server (issue 13): uploaded by the runner as tar.gz streams, listed and
 * downloadable on the build page (tenant-scoped), capped, expired, and reused by "Re-run failed steps".
 */
describe("artifacts and caches on the server", function () {
  this.timeout(90_000);
  let bb: BitbucketCloud;
  let server: TestServer;

  before(async () => {
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    // Small caps, so a test can go over them.
    server = await startTestServer({ PIPELINES_ARTIFACT_MAX_BYTES: "65536", PIPELINES_CACHE_MAX_BYTES: "65536" });
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });

  const push = async (w: World, file: string, message: string) => {
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": file }, message });
    return buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"], 60_000);
  };

  it("named uploads: shared ones reach later steps, scoped ones stay with their step, `download: [names]` picks; each is listed and downloadable as tar.gz; another tenant gets 404", async () => {
    const w = await installWorld(bb, server, "art");
    const other = await installWorld(bb, server, "other");
    const file = `pipelines:
  default:
    - step:
        name: Make
        script:
          - mkdir -p dist logs && echo "the app" > dist/app.txt && echo "a log" > logs/make.log && echo "report" > report.txt
          - ln -s app.txt dist/link
        artifacts:
          upload:
            - name: app
              paths: [dist/**]
            - name: logs
              type: scoped
              paths: [logs/*.log]
            - name: report
              paths: [report.txt]
    - step:
        name: Use
        artifacts:
          download: [app]
        script:
          - cat dist/app.txt
          - echo "link -> $(readlink dist/link)"
          - if [ -e logs/make.log ]; then echo "GOT SCOPED"; fi
          - if [ -e report.txt ]; then echo "GOT UNNAMED"; fi
`;
    const build = await push(w, file, "named artifacts");
    const use = await stepLog(server, build.id, 1);
    assert.equal(build.state, "SUCCESSFUL", `${await stepLog(server, build.id, 0)}\n${use}`);
    assert.match(use, /^the app$/m);
    assert.match(use, /^link -> app\.txt$/m);
    assert.doesNotMatch(use, /^(GOT SCOPED|GOT UNNAMED)$/m);
    assert.match(await stepLog(server, build.id, 0), /artifact "logs" uploaded: 1 file, .* kept with this step only \(scoped\)/);

    const list = await request(server.url).get(`/api/builds/${build.id}/artifacts`).set("Authorization", w.auth()).expect(200);
    const artifacts = list.body.artifacts as { id: number; name: string; type: string; size: number; stepIndex: number; expiresAt: string }[];
    assert.deepEqual(artifacts.map((a) => [a.stepIndex, a.name, a.type]), [[0, "app", "shared"], [0, "logs", "scoped"], [0, "report", "shared"]]);
    const app = artifacts[0];
    assert.ok(app.size > 0);
    assert.ok(Math.abs(new Date(app.expiresAt).getTime() - Date.now() - 14 * 86_400_000) < 600_000, "expires in 14 days");

    const download = await request(server.url).get(`/api/builds/${build.id}/artifacts/${app.id}/download`).set("Authorization", w.auth()).buffer(true).parse(binary).expect(200);
    assert.equal(download.headers["content-type"], "application/gzip");
    assert.match(download.headers["content-disposition"] ?? "", /attachment; filename=".*build-1-step-1-app\.tar\.gz"/);
    assert.deepEqual(untar(download.body as Buffer), { "dist/app.txt": "the app\n", "dist/link": "-> app.txt" });

    // Another tenant: its token on this build, or this artifact's id on its own build, is a 404 like nothing there.
    await request(server.url).get(`/api/builds/${build.id}/artifacts`).set("Authorization", other.auth()).expect(404);
    await request(server.url).get(`/api/builds/${build.id}/artifacts/${app.id}/download`).set("Authorization", other.auth()).expect(404);
    const theirs = await push(other, "pipelines:\n  default:\n    - step:\n        script: [echo hi]\n", "theirs");
    await request(server.url).get(`/api/builds/${theirs.id}/artifacts/${app.id}/download`).set("Authorization", other.auth()).expect(404);

    // The build page lists them, each with its size and a download; the scoped one says so.
    const page = await withContext(server, w, "/fragments/builds", { repoPath: `${w.workspace}/${w.slug}`, region: "build", build: String(build.id) }).expect(200);
    const listed = [...page.text.matchAll(/data-artifact-id="(\d+)" data-artifact-name="([^"]+)" data-testid="artifact-download">[^<]+<\/button> <span class="muted" data-testid="artifact-size">([^<]+)</g)].map((m) => [Number(m[1]), m[2], m[3]]);
    assert.deepEqual(listed.map((l) => l[1]), ["app", "logs", "report"]);
    assert.equal(listed[0][0], app.id);
    assert.match(String(listed[0][2]), /^\d+ bytes$/);
    assert.match(page.text, /logs\.tar\.gz<\/button> <span class="muted" data-testid="artifact-size">[^<]+<\/span> <span class="tag">scoped<\/span>/);
  });

  it("an artifact over the cap per step fails the step saying so, and nothing of it is kept; a cache over its cap is not saved, said in the log", async () => {
    const w = await installWorld(bb, server, "cap");
    const file = `definitions:
  caches:
    big: big-cache
pipelines:
  default:
    - step:
        name: Huge
        caches: [big]
        script:
          - mkdir -p out big-cache && head -c 300000 /dev/urandom > out/blob.bin && head -c 300000 /dev/urandom > big-cache/blob.bin
        artifacts: [out/**]
`;
    const build = await push(w, file, "huge");
    const log = await stepLog(server, build.id, 0);
    assert.equal(build.state, "FAILED", log);
    assert.match(log, /the step fails: the artifacts of this step are larger than 64 KiB, the most a step may keep \(the service's PIPELINES_ARTIFACT_MAX_BYTES\)/);
    assert.match(log, /cache "big" is not saved: it is larger than 64 KiB, the most a cache may take/);
    assert.equal(build.stateReason, 'step "Huge" failed');
    assert.equal(await server.storage.models.Artifact.count({ where: { buildId: build.id } }), 0);
    assert.equal(await server.storage.models.Cache.count({ where: { applicationId: w.applicationId } }), 0);
    const incoming = path.join(server.config.storage.dir, ".incoming");
    assert.deepEqual(fs.existsSync(incoming) ? fs.readdirSync(incoming) : [], [], "no partial blob is left");
  });

  it("a cache saved by one build is restored in the next; expiry removes old artifacts and unused caches, once, with their blobs", async () => {
    const w = await installWorld(bb, server, "exp");
    const file = `definitions:
  caches:
    deps: deps
pipelines:
  default:
    - step:
        name: Cached
        caches: [deps]
        script:
          - if [ -f deps/stamp ]; then echo "cached stamp $(cat deps/stamp)"; else mkdir -p deps && echo "$BITBUCKET_BUILD_NUMBER" > deps/stamp; fi
          - mkdir -p out && echo x > out/x.txt
        artifacts: [out/**]
`;
    const first = await push(w, file, "first");
    assert.equal(first.state, "SUCCESSFUL", await stepLog(server, first.id, 0));
    assert.match(await stepLog(server, first.id, 0), /cache "deps" saved from deps/);
    const second = await push(w, file, "second");
    const log = await stepLog(server, second.id, 0);
    assert.match(log, /cache "deps" restored into deps/);
    assert.match(log, /^cached stamp 1$/m);

    const { models } = server.storage;
    const artifacts = await models.Artifact.findAll({ where: { buildId: [first.id, second.id] } });
    const cache = await models.Cache.findOne({ where: { applicationId: w.applicationId } });
    assert.equal(artifacts.length, 2);
    assert.ok(cache);
    const blobOf = (key: string) => path.join(server.config.storage.dir, key);
    assert.ok(fs.existsSync(blobOf(artifacts[0].blobKey)) && fs.existsSync(blobOf(cache.blobKey)));

    const store = server.engine.ctx.artifacts;
    // 8 days on: the cache (used by the second build) expired, the artifacts (14 days) not yet.
    const in8 = new Date(Date.now() + 8 * 86_400_000);
    const [a, b] = await Promise.all([store.expire(in8), store.expire(in8)]);
    assert.equal(a.caches + b.caches, 1, "two processes at once remove it once");
    assert.equal(a.artifacts + b.artifacts, 0);
    assert.equal(fs.existsSync(blobOf(cache.blobKey)), false);
    // 15 days on: the artifacts too.
    const removed = await store.expire(new Date(Date.now() + 15 * 86_400_000));
    assert.ok(removed.artifacts >= 2);
    assert.equal(await models.Artifact.count({ where: { buildId: [first.id, second.id] } }), 0);
    for (const art of artifacts) assert.equal(fs.existsSync(blobOf(art.blobKey)), false);
    await request(server.url).get(`/api/builds/${first.id}/artifacts/${artifacts[0].id}/download`).set("Authorization", w.auth()).expect(404);
  });

  it("Re-run failed steps: a new build reuses the passed steps' results, logs and artifacts and runs from the failed step on", async () => {
    const w = await installWorld(bb, server, "rerun");
    const file = `pipelines:
  default:
    - step:
        name: Build
        script:
          - mkdir -p dist && head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \\n' > dist/id.txt
          - echo "built $(cat dist/id.txt)"
        artifacts: [dist/**]
    - step:
        name: Test
        script:
          - echo "testing $(cat dist/id.txt)"
          - test "$BITBUCKET_BUILD_NUMBER" != 1
`;
    const failed = await push(w, file, "flaky");
    assert.equal(failed.state, "FAILED");
    const builtId = /^built ([0-9a-f]{24})$/m.exec(await stepLog(server, failed.id, 0))?.[1];
    assert.ok(builtId);

    // Only a failed build has failed steps; a running or successful one is refused.
    const rerun = await request(server.url).post(`/api/builds/${failed.id}/rerun-failed`).set("Authorization", w.auth()).expect(201);
    assert.equal(rerun.body.reused, 1);
    assert.equal(rerun.body.number, 2);
    assert.deepEqual(rerun.body.steps.map((s: { state: string; reusedFrom: number | null }) => [s.state, s.reusedFrom]), [["SUCCESSFUL", failed.id], ["PENDING", null]]);
    const done = await eventually("the re-run to end", async () => {
      const b = await server.storage.models.Build.findByPk(rerun.body.id as number);
      return b && ["SUCCESSFUL", "FAILED"].includes(b.state) ? b : undefined;
    }, 60_000);
    const testLog = await stepLog(server, done.id, 1);
    assert.equal(done.state, "SUCCESSFUL", testLog);
    assert.match(testLog, new RegExp(`^testing ${builtId}$`, "m"), "the reused step's artifact, not a new one");
    assert.match(await stepLog(server, done.id, 0), new RegExp(`^built ${builtId}$`, "m"), "the reused step's log is copied");
    await request(server.url).post(`/api/builds/${done.id}/rerun-failed`).set("Authorization", w.auth()).expect(409);
    // The failed build's page offers it; the new build's page says which steps were reused.
    const before = await withContext(server, w, "/fragments/builds", { repoPath: `${w.workspace}/${w.slug}`, region: "build", build: String(failed.id) }).expect(200);
    assert.match(before.text, /data-testid="build-rerun-failed"[^>]*>Re-run failed steps</);
    const after = await withContext(server, w, "/fragments/builds", { repoPath: `${w.workspace}/${w.slug}`, region: "build", build: String(done.id) }).expect(200);
    assert.doesNotMatch(after.text, /data-testid="build-rerun-failed"/);
    assert.match(after.text, /data-testid="build-reused">Re-run of the failed steps of #1: step &quot;Build&quot; was reused from #1/);
    assert.match(after.text, /data-testid="step-reused">reused from #1</);
    // The new build has the reused step's artifact as its own: listed on its page, downloadable.
    const list = await request(server.url).get(`/api/builds/${done.id}/artifacts`).set("Authorization", w.auth()).expect(200);
    assert.deepEqual(list.body.artifacts.map((a: { stepIndex: number; name: string }) => [a.stepIndex, a.name]), [[0, "artifacts"]]);
  });
});
