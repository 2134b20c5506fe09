import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import request from "supertest";
import { runnerKey } from "../../src/runner/executors/create-executor";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { buildReaches, eventually, installWorld, stepLog } from "../support/build-world";
import { containersNamed, testImage } from "../support/container-images";
import { startTestServer, type TestServer } from "../support/test-server";
import { createRunnerToken, spawnRunner, type Child } from "../runner-api/support";

/**
 * PIPELINES_EXECUTOR=container on a runner: a step runs in its `image:`, its services answer on localhost, its
 * pipes run in containers of theirs, and nothing of a step is left once it ends. Images are made locally from
 * Debian's static busybox (no registry is reachable here).
 */
describe("container executor", function () {
  this.timeout(120_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  let tmp: string;
  let runner: Child;
  let stateDir: string;
  let image: string;
  let serviceImage: string;
  let pipeImage: string;

  before(async () => {
    image = testImage("busybox");
    serviceImage = testImage("service", { cmd: ["/bin/sh", "-c", 'mkdir -p /www && echo "service says $GREETING" > /www/index.html && exec httpd -f -p 8080 -h /www'] });
    pipeImage = testImage("pipe", {
      cmd: ["/bin/sh", "-c", 'echo "pipe sees $GREETING, $NAMES_COUNT names: $NAMES_0 $NAMES_1; token $SECRET_ONE; storage $BITBUCKET_PIPE_STORAGE_DIR"; echo "made by the pipe for $BITBUCKET_REPO_SLUG" > "$BITBUCKET_CLONE_DIR/from-pipe.txt"'],
    });
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    server = await startTestServer({ PIPELINES_IN_PROCESS_RUNNER: "false" });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "containers-"));
    stateDir = path.join(tmp, "state");
    const token = await createRunnerToken(server.env, "podman");
    runner = spawnRunner({
      server: server.url,
      token,
      name: "box",
      stateDir,
      workDir: path.join(tmp, "work"),
      env: { PIPELINES_EXECUTOR: "container", PIPELINES_CONTAINER_DEFAULT_IMAGE: image, PIPELINES_STEP_MEMORY: "1GiB", PIPELINES_STEP_DISK: "512MiB" },
    });
    await eventually("the container runner to start", async () => /steps run in: container \(podman/.test(runner.output()), 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${runner.output()}`);
    });
  });
  after(async () => {
    runner?.proc.kill("SIGTERM");
    await runner?.exited;
    await server?.stop();
    await bb?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const run = async (file: string, setup?: (w: Awaited<ReturnType<typeof installWorld>>) => Promise<void>) => {
    const w = await installWorld(bb, server);
    await setup?.(w);
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": file }, message: "container" });
    const build = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"], 90_000);
    return { build, log: await stepLog(server, build.id, 0) };
  };

  it("runs a step in its image with its service on localhost, and leaves no container behind", async () => {
    const file = `image: ${image}
definitions:
  services:
    web:
      image: ${serviceImage}
      memory: 256
      variables:
        GREETING: hello-from-the-file
pipelines:
  default:
    - step:
        name: In the image
        services: [web]
        script:
          - cat /etc/os-release
          - echo "uid $(id -u) in $(pwd)"
          - test -f bitbucket-pipelines.yml
          - for i in $(seq 50); do wget -qO- http://localhost:8080/ && break; sleep 0.2; done
          - if wget -qO- -T 3 http://127.0.0.1:${new URL(server.url).port}/healthz; then echo "REACHED THE SERVICE"; exit 1; fi
`;
    const { build, log } = await run(file);
    assert.equal(build.state, "SUCCESSFUL", log);
    assert.match(log, /NAME="Pipelines test image"/);
    assert.match(log, /uid 0 in \/opt\/atlassian\/pipelines\/agent\/build/);
    assert.match(log, /service says hello-from-the-file/);
    assert.match(log, /\[pipelines\] executor: container \(podman\) — image localhost\/pipelines-test-busybox:\w+; services web on localhost/);
    assert.doesNotMatch(log, /is ignored/);
    await eventually("every container of the step removed", async () => containersNamed(`pl-${runnerKey(stateDir)}-`).length === 0, 10_000);
  });

  it("runs a pipe with its variables (lists as NAME_COUNT, NAME_0…), the clone mounted, secured values masked", async () => {
    const secret = "pipe-secret-value-42";
    const file = `pipelines:
  default:
    - step:
        name: With a pipe
        script:
          - echo before the pipe
          - pipe: docker://${pipeImage}
            variables:
              GREETING: "hello $BITBUCKET_REPO_SLUG"
              NAMES: [alpha, beta]
              SECRET_ONE: $API_TOKEN
          - cat from-pipe.txt
`;
    const { build, log } = await run(file, async (w) => {
      await request(server.url).put(`/api/applications/${w.applicationId}/variables/API_TOKEN`).set("Authorization", w.auth()).send({ value: secret, secured: true }).expect(204);
    });
    assert.equal(build.state, "SUCCESSFUL", log);
    assert.match(log, /\[pipelines\] running pipe docker:\/\/localhost\/pipelines-test-pipe/);
    assert.match(log, /pipe sees hello app, 2 names: alpha beta; token \*{8}; storage \/opt\/atlassian\/pipelines\/agent\/build\/\.bitbucket\/pipelines\/generated\/pipeline\/pipes\/localhost\/pipelines-test-pipe/);
    assert.doesNotMatch(log, new RegExp(secret));
    assert.match(log, /made by the pipe for app/);
  });

  it("fails a step whose image cannot be pulled, naming the image and the registry's answer", async () => {
    const { build, log } = await run("pipelines:\n  default:\n    - step:\n        image: registry.invalid/nope:1\n        script:\n          - echo never\n");
    assert.equal(build.state, "FAILED");
    assert.match(log, /the image registry\.invalid\/nope:1 could not be pulled from registry\.invalid: \S/);
    assert.doesNotMatch(log, /\+ echo never/);
  });

  it("refuses the docker service with a clear message", async () => {
    const { build, log } = await run("pipelines:\n  default:\n    - step:\n        services: [docker]\n        script:\n          - docker version\n");
    assert.equal(build.state, "FAILED");
    assert.match(log, /the docker service \(Docker in Docker\) is not available on this runner/);
  });
});
