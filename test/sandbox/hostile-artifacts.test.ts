import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { gunzipSync, gzipSync } from "node:zlib";
import { loadExecutorSettings } from "../../src/config/executor-settings";
import { createLogger } from "../../src/log/logger";
import { createExecutor } from "../../src/runner/executors/create-executor";
import type { Executor, JobSandbox } from "../../src/runner/executors/executor";

/** One ustar entry: a file (`0`) with `content`, or a symbolic link (`2`) to `link`. */
function entry(name: string, type: "0" | "2", content = "", link = ""): Buffer {
  const header = Buffer.alloc(512);
  const body = Buffer.from(content);
  header.write(name.slice(0, 100), 0, "utf8");
  header.write("0000644\0", 100);
  header.write("0000000\0", 108);
  header.write("0000000\0", 116);
  header.write(`${body.length.toString(8).padStart(11, "0")}\0`, 124);
  header.write(`${Math.floor(Date.now() / 1000).toString(8).padStart(11, "0")}\0`, 136);
  header.write("        ", 148);
  header.write(type, 156);
  header.write(link.slice(0, 100), 157, "utf8");
  header.write("ustar\0", 257);
  header.write("00", 263);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
  body.copy(padded);
  return Buffer.concat([header, padded]);
}

/** Every file under `dir` (relative), links included. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      out.push(path.relative(dir, full));
      if (e.isDirectory()) walk(full);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}

/**
 * An artifact or cache is a tar.gz that a step (or a runner) made: hostile. Unpacking one into a step's directory
 * runs as the step's uid in a jail that holds only the job's files, so no entry — `..` names, absolute names, a link
 * followed by a file "through" it — writes outside the step's own files; packing one never follows a link.
 */
describe("sandbox: hostile artifacts and caches", function () {
  this.timeout(60_000);
  let executor: Executor;
  let job: JobSandbox;
  let tmp: string;
  let outside: string;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-artifacts-"));
    outside = path.join(tmp, "outside");
    fs.mkdirSync(outside, { mode: 0o777 });
    fs.chmodSync(outside, 0o777);
    fs.writeFileSync(path.join(outside, "secret.txt"), "runner secret\n", { mode: 0o600 });
    executor = await createExecutor({
      settings: loadExecutorSettings({ PIPELINES_STEP_NETWORK: "none", PIPELINES_STEP_DISK: "64MiB" }, 1),
      workDir: path.join(tmp, "work"),
      stateDir: path.join(tmp, "state"),
      slots: 1,
      runnerName: "hostile-artifacts",
      inProcess: true,
      log: createLogger({ test: true }),
    });
    job = await executor.job(0);
  });
  after(async () => {
    await job?.release();
    await executor?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const stepDir = (name: string) => {
    const dir = path.join(job.dir, name);
    fs.mkdirSync(dir, { mode: 0o700 });
    if (job.owner) fs.chownSync(dir, job.owner.uid, job.owner.gid);
    return dir;
  };

  it("unpacking a crafted tar.gz writes only inside the step's directory", async () => {
    const dir = stepDir("step-0");
    const archive = gzipSync(
      Buffer.concat([
        entry("ok.txt", "0", "fine\n"),
        entry("../../escape-dotdot.txt", "0", "escaped\n"),
        entry(path.join(outside, "absolute.txt"), "0", "absolute\n"),
        entry("to-outside", "2", "", outside),
        entry("to-outside/through-link.txt", "0", "through a link\n"),
        entry("up", "2", "", "../../../.."),
        entry("up/through-up.txt", "0", "through up\n"),
        entry(`to-outside/secret.txt`, "0", "overwritten\n"),
        Buffer.alloc(1024),
      ]),
    );
    await job.unpackIn(dir, Readable.from([archive])).catch(() => undefined);
    assert.equal(fs.readFileSync(path.join(dir, "ok.txt"), "utf8"), "fine\n");
    assert.deepEqual(tree(outside), ["secret.txt"]);
    assert.equal(fs.readFileSync(path.join(outside, "secret.txt"), "utf8"), "runner secret\n");
    assert.equal(fs.existsSync(path.resolve(dir, "../../escape-dotdot.txt")), false);
    assert.equal(fs.existsSync(path.resolve(job.dir, "../escape-dotdot.txt")), false);
    // Nothing landed anywhere in the job but the step's directory.
    assert.deepEqual(tree(job.dir).filter((p) => !p.startsWith("step-0") && p !== "lost+found"), []);
    // Nothing landed in the runner's own directories either (an absolute name is unpacked inside the step's directory).
    const stepRel = path.relative(tmp, dir);
    assert.deepEqual(tree(tmp).filter((p) => /escape|absolute|through/.test(p) && !p.startsWith(`${stepRel}/`)), []);
  });

  it("file names that look like tar options, or hold newlines, are packed and unpacked as names, never obeyed", async () => {
    const from = stepDir("step-2");
    const names = ["--checkpoint=1", "--checkpoint-action=exec=touch PWNED", "-P", "line\nbreak.txt", "--to-command=touch PWNED2"];
    for (const n of names) fs.writeFileSync(path.join(from, n), `content of ${JSON.stringify(n)}\n`);
    if (job.owner) for (const n of names) fs.chownSync(path.join(from, n), job.owner.uid, job.owner.gid);
    const chunks: Buffer[] = [];
    for await (const c of job.packOut(from, names)) chunks.push(c as Buffer);
    const into = stepDir("step-3");
    await job.unpackIn(into, Readable.from([Buffer.concat(chunks)]));
    assert.deepEqual(fs.readdirSync(into).sort(), [...names].sort());
    for (const n of names) assert.equal(fs.readFileSync(path.join(into, n), "utf8"), `content of ${JSON.stringify(n)}\n`);
    // Nothing ran: no PWNED file anywhere (tar would have run `touch` in the directory it packs or unpacks).
    assert.deepEqual(fs.readdirSync(from).sort(), [...names].sort());
    assert.deepEqual(tree(tmp).filter((p) => /^PWNED2?$/.test(path.basename(p))), []);
    assert.equal(fs.existsSync(path.join(process.cwd(), "PWNED")), false);
  });

  it("packing a step's files stores links as links (never what they point to) and holds only what the step can read", async () => {
    const dir = stepDir("step-1");
    fs.writeFileSync(path.join(dir, "real.txt"), "real\n");
    fs.symlinkSync(path.join(outside, "secret.txt"), path.join(dir, "secret-link"));
    fs.symlinkSync(outside, path.join(dir, "dir-link"));
    if (job.owner) for (const f of ["real.txt", "secret-link", "dir-link"]) fs.lchownSync(path.join(dir, f), job.owner.uid, job.owner.gid);
    const packed = async (files?: string[]) => {
      const chunks: Buffer[] = [];
      for await (const c of job.packOut(dir, files)) chunks.push(c as Buffer);
      return gunzipSync(Buffer.concat(chunks)).toString("latin1");
    };
    const text = await packed(["real.txt", "secret-link", "dir-link"]);
    assert.match(text, /real\n/);
    assert.ok(text.includes(path.join(outside, "secret.txt")), "the link is stored as a link (its target's name)");
    assert.doesNotMatch(text, /runner secret/);
    // A path "through" a link: the jail has nothing of the runner's there, so packing fails rather than leak.
    await assert.rejects(packed(["dir-link/secret.txt"]), /Cannot stat/);
    // The whole directory (a cache) too.
    assert.doesNotMatch(await packed(), /runner secret/);
  });
});
