import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { buildReaches, eventually, installWorld, stepLog } from "../support/build-world";
import { processesMatching, processUid } from "../support/processes";
import { startTestServer, type TestServer } from "../support/test-server";

/** A quoted word for the step's shell. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The first IPv4 address of this machine that is not loopback (where a service listening everywhere answers). */
function machineAddress(): string | null {
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return null;
}

/**
 * A step written by a stranger tries what issue 10 lists, on the default executor, while another workspace's build
 * runs beside it: every attempt is refused, the other build finishes untouched, and nothing of the attacker is left.
 */
describe("sandbox: a hostile step", function () {
  this.timeout(120_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  const marker = String(process.pid);

  before(async () => {
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    server = await startTestServer({
      PIPELINES_STEP_MEMORY: "64MiB",
      PIPELINES_STEP_PIDS: "64",
      PIPELINES_STEP_DISK: "256MiB",
      PIPELINES_RUNNER_SLOTS: "2",
    });
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });

  it("is refused everything it tries against the service and another workspace's running build, which finishes untouched", async () => {
    const victim = await installWorld(bb, server, "victim");
    const attacker = await installWorld(bb, server, "attacker");
    const keyFile = path.join(server.dataDir, "secret.key");
    const keyBefore = fs.existsSync(keyFile) ? createHash("sha256").update(fs.readFileSync(keyFile)).digest("hex") : null;
    const port = new URL(server.url).port;
    const repo = process.cwd();
    const address = machineAddress();

    const victimFile = `pipelines:
  default:
    - step:
        name: Victim
        script:
          - echo "victim-data-$BITBUCKET_BUILD_NUMBER" > victim.txt
          - sleep 8.${marker}1
          - test "$(cat victim.txt)" = "victim-data-$BITBUCKET_BUILD_NUMBER"
          - echo "victim intact"
`;
    const checks: Array<[string, string]> = [
      ["read the secret key", `cat ${q(keyFile)}`],
      ["read the database", server.sqliteFile ? `head -c 16 ${q(server.sqliteFile)}` : `ls ${q(server.dataDir)}`],
      ["list the service's data directory", `ls ${q(server.dataDir)}`],
      ["list the runner's workspaces, caches and state", `ls ${q(path.join(server.dataDir, "runner"))}`],
      ["read the service's folder", `cat ${q(path.join(repo, "package.json"))}`],
      ["write into the service's folder", `touch ${q(path.join(repo, "src", `pwned-${marker}.ts`))}`],
      ["read the service's environment", `cat /proc/${process.pid}/environ`],
      ["see the service's process", `test -e /proc/${process.pid}/cmdline`],
      ["signal the service", `kill -0 ${process.pid}`],
      ["stop the service", `kill -STOP ${process.pid}`],
      ["see the other build's processes", `pgrep -f 8.${marker}1`],
      ["reach the service's port on loopback", `timeout 3 bash -c 'echo > /dev/tcp/127.0.0.1/${port}'`],
      ...(address ? ([["reach the service's port on this machine's address", `timeout 3 bash -c 'echo > /dev/tcp/${address}/${port}'`]] as Array<[string, string]>) : []),
      ["reach this machine's loopback through the gateway", `timeout 3 bash -c 'echo > /dev/tcp/10.0.2.2/${port}'`],
      ["reach Postgres on loopback", "timeout 3 bash -c 'echo > /dev/tcp/127.0.0.1/5432'"],
      ["reach Redis on loopback", "timeout 3 bash -c 'echo > /dev/tcp/127.0.0.1/6379'"],
      ["reach the cloud metadata service", "timeout 3 bash -c 'echo > /dev/tcp/169.254.169.254/80'"],
      ["be root", `test "$(id -u)" = 0`],
      ["be the service's user", `test "$(id -u)" = ${process.getuid?.()}`],
      ["hold a capability", "grep -Eq '^CapEff:.*[1-9a-f]' /proc/self/status"],
      ["make a user namespace", "unshare -U true"],
      ["make a user namespace and become root in it", "unshare -Ur true"],
      ["mount something", "mount -t tmpfs none /mnt"],
      ["write to the system", "touch /usr/pwned /etc/pwned"],
      ["read the machine's shadow passwords", "cat /etc/shadow"],
    ];
    const attackerFile = `pipelines:
  default:
    - step:
        name: Attacker
        script:
          - |
            check() { if (eval "$2") >/dev/null 2>&1; then echo "BREACH: $1"; exit 1; else echo "blocked: $1"; fi; }
${checks.map(([what, cmd]) => `            check ${q(what)} ${q(cmd)}`).join("\n")}
          - echo "uid $(id -u) pid1 $(cat /proc/1/comm) processes $(ps -e --no-headers | wc -l)"
          - setsid -f sleep 1000.${marker}2
          - sleep 2.${marker}3
`;
    const v = await bb.pushAndNotify(server.url, victim.clientKey, victim.workspace, victim.slug, { files: { "bitbucket-pipelines.yml": victimFile }, message: "victim" });
    const victimBuild = await buildReaches(server, victim.applicationId, v.commit.hash, ["RUNNING"]);
    await eventually("the victim's step to run", async () => processesMatching(`sleep 8.${marker}1`).length > 0);
    const a = await bb.pushAndNotify(server.url, attacker.clientKey, attacker.workspace, attacker.slug, { files: { "bitbucket-pipelines.yml": attackerFile }, message: "attack" });

    // While the attacker runs: its processes are neither root nor the service's user, and the victim's step is alive.
    const sleeper = await eventually("the attacker's step to run", async () => processesMatching(`sleep 2.${marker}3`)[0], 30_000);
    const uid = processUid(sleeper);
    assert.ok(uid !== null && uid !== 0 && uid !== process.getuid?.(), `the step runs as uid ${uid}`);
    const victimUid = processUid(processesMatching(`sleep 8.${marker}1`)[0] ?? -1);

    const attacked = await buildReaches(server, attacker.applicationId, a.commit.hash, ["SUCCESSFUL", "FAILED"], 60_000);
    const attackLog = await stepLog(server, attacked.id, 0);
    assert.doesNotMatch(attackLog, /^BREACH/m, attackLog);
    for (const [what] of checks) assert.ok(attackLog.includes(`blocked: ${what}`), `${what}\n${attackLog}`);
    assert.equal(attacked.state, "SUCCESSFUL", attackLog);
    assert.match(attackLog, /uid \d+ pid1 bwrap processes [1-9]\b/, "the step sees only its own few processes");
    assert.ok(victimUid !== null && victimUid !== uid, `two jobs at once run as two uids (${victimUid}, ${uid})`);

    const victimDone = await buildReaches(server, victim.applicationId, v.commit.hash, ["SUCCESSFUL", "FAILED"], 60_000);
    assert.equal(victimDone.id, victimBuild.id);
    const victimLog = await stepLog(server, victimDone.id, 0);
    assert.equal(victimDone.state, "SUCCESSFUL", victimLog);
    assert.match(victimLog, /victim intact/);

    // Nothing of the attacker outlives its build; the service's files are as they were.
    await eventually("the setsid process to be gone", async () => processesMatching(`sleep 1000.${marker}2`).length === 0, 5000);
    assert.equal(fs.existsSync(path.join(repo, "src", `pwned-${marker}.ts`)), false);
    if (keyBefore) assert.equal(createHash("sha256").update(fs.readFileSync(keyFile)).digest("hex"), keyBefore);
  });

  it("links among its files never lead the runner out of them: artifacts and output variables travel as links, not as what they point to", async () => {
    const w = await installWorld(bb, server, "links");
    const keyFile = path.join(server.dataDir, "secret.key");
    const file = `pipelines:
  default:
    - step:
        name: Plant links
        output-variables: [LEAK]
        script:
          - mkdir -p dist && echo real > dist/real.txt
          - ln -s ${q(keyFile)} dist/key
          - ln -s ${q(server.dataDir)} dist/data
          - ln -s ${q(keyFile)} "$BITBUCKET_PIPELINES_VARIABLES_PATH"
        artifacts:
          - dist/**
    - step:
        name: Look
        script:
          - cat dist/real.txt
          - echo "key is a link to $(readlink dist/key)"
          - if cat dist/key 2>/dev/null; then echo "GOT THE KEY"; fi
          - if ls dist/data/ 2>/dev/null | grep .; then echo "GOT THE DATA DIRECTORY"; fi
          - echo "LEAK=[$LEAK]"
`;
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": file }, message: "links" });
    const build = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"], 60_000);
    const first = await stepLog(server, build.id, 0);
    const second = await stepLog(server, build.id, 1);
    assert.equal(build.state, "SUCCESSFUL", `${first}\n${second}`);
    assert.match(first, /warning: \.pipelines-output-variables is not a regular file; no output variables are passed on/);
    assert.match(second, /^real$/m);
    assert.match(second, new RegExp(`key is a link to ${keyFile.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`));
    assert.doesNotMatch(second, /^(GOT THE KEY|GOT THE DATA DIRECTORY)$/m);
    assert.match(second, /LEAK=\[\]/);
  });

  it("cannot take more memory than its size gives it: the step fails saying it ran out of memory", async () => {
    const w = await installWorld(bb, server, "mem");
    const file = `pipelines:\n  default:\n    - step:\n        name: Hog\n        script:\n          - a=$(head -c 200000000 /dev/zero | tr '\\0' a); echo "held \${#a}"\n`;
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": file }, message: "hog" });
    const build = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"], 60_000);
    const log = await stepLog(server, build.id, 0);
    assert.equal(build.state, "FAILED", log);
    assert.match(log, /out of memory \(limit 64 MiB\)/);
    assert.doesNotMatch(log, /held 200000000/);
  });

  it("cannot start more processes than its limit", async () => {
    const w = await installWorld(bb, server, "fork");
    const file = `pipelines:\n  default:\n    - step:\n        name: Forks\n        script:\n          - sh -c 'i=0; while [ $i -lt 200 ]; do sleep 20.${marker}4 & i=$((i+1)); done; wait'\n`;
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": file }, message: "forks" });
    let most = 0;
    const build = await eventually("the fork step to end", async () => {
      most = Math.max(most, processesMatching(`sleep 20.${marker}4`).length);
      const b = await server.storage.models.Build.findOne({ where: { applicationId: w.applicationId, commit: commit.hash } });
      return b && ["SUCCESSFUL", "FAILED"].includes(b.state) ? b : undefined;
    }, 60_000).catch(async (err: Error) => {
      const b = await server.storage.models.Build.findOne({ where: { applicationId: w.applicationId, commit: commit.hash } });
      throw new Error(`${err.message}; most ${most}; log:\n${b ? await stepLog(server, b.id, 0).catch(() => "") : "no build"}`);
    });
    const log = await stepLog(server, build.id, 0);
    assert.equal(build.state, "FAILED", log);
    assert.match(log, /Resource temporarily unavailable|cannot fork/i, log);
    assert.ok(most <= 64, `${most} processes at once`);
    await eventually("the step's processes to be gone", async () => processesMatching(`sleep 20.${marker}4`).length === 0, 5000);
  });

  it("cannot write more than its disk holds: the step fails saying the disk is full", async () => {
    const w = await installWorld(bb, server, "disk");
    const file = "pipelines:\n  default:\n    - step:\n        name: Filler\n        script:\n          - head -c 400M /dev/zero > big.bin\n";
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": file }, message: "fill" });
    const build = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"], 60_000);
    const log = await stepLog(server, build.id, 0);
    assert.equal(build.state, "FAILED", log);
    assert.match(log, /No space left on device/);
    assert.match(log, /no space left: the job's disk/);
  });
});
