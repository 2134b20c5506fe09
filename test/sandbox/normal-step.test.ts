import assert from "node:assert/strict";
import * as jose from "jose";
import type { BitbucketCloud } from "../standin/cloud";
import { buildReaches, installWorld, stepLog, withStandinAndServer } from "../support/build-world";
import { startOutsideHost, type OutsideHost } from "../support/outside-host";
import type { TestServer } from "../support/test-server";

/** What an ordinary step still has in the sandbox: its tools, variables, files, and the internet. */
describe("sandbox: an ordinary step", function () {
  this.timeout(60_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  let outside: OutsideHost;
  withStandinAndServer((b, s) => ((bb = b), (server = s)));
  before(async () => {
    outside = await startOutsideHost();
  });
  after(async () => {
    await outside?.stop();
  });

  it("has git, bash, its BITBUCKET_* variables, its own clone, a writable HOME and /tmp, and reaches a host outside", async () => {
    const w = await installWorld(bb, server);
    const file = `pipelines:
  default:
    - step:
        name: Ordinary
        script:
          - git log --oneline -1
          - git status --porcelain | wc -l
          - git rev-parse HEAD
          - git -c user.email=ci@example.com -c user.name=ci commit --allow-empty -qm "made in the step" && git log --oneline -1
          - echo "$BITBUCKET_REPO_FULL_NAME $BITBUCKET_BUILD_NUMBER $BITBUCKET_CLONE_DIR $HOME"
          - test "$(pwd)" = "$BITBUCKET_CLONE_DIR"
          - echo home > ~/h.txt && echo tmp > /tmp/t.txt && cat ~/h.txt /tmp/t.txt
          - bash -c 'echo bash $BASH_VERSION'
          - exec 3<>/dev/tcp/203.0.113.2/8080; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3 | tail -1
`;
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": file }, message: "ordinary" });
    const build = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"]);
    const log = await stepLog(server, build.id, 0);
    assert.equal(build.state, "SUCCESSFUL", log);
    assert.ok(log.includes(commit.hash), log);
    assert.match(log, /made in the step/);
    assert.match(log, new RegExp(`${w.workspace}/${w.slug} 1 /opt/atlassian/pipelines/agent/build /root`));
    assert.match(log, /^home\ntmp$/m);
    assert.match(log, /bash \d+\./);
    assert.match(log, /hello from outside/);
  });

  it("gets an OIDC token that a relying party outside verifies against its workspace's issuer", async () => {
    const w = await installWorld(bb, server);
    const file = `pipelines:
  default:
    - step:
        name: Deploy with OIDC
        oidc: true
        script:
          - echo "token $BITBUCKET_STEP_OIDC_TOKEN"
          - |
            exec 3<>/dev/tcp/203.0.113.2/8080; printf 'POST /token HTTP/1.0\\r\\nContent-Length: %s\\r\\n\\r\\n%s' "\${#BITBUCKET_STEP_OIDC_TOKEN}" "$BITBUCKET_STEP_OIDC_TOKEN" >&3; cat <&3 | tail -1
`;
    const before = outside.received().length;
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": file }, message: "oidc" });
    const build = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"]);
    const log = await stepLog(server, build.id, 0);
    assert.equal(build.state, "SUCCESSFUL", log);
    assert.match(log, /token \*{8}/, "the token is masked in the log");
    const token = outside.received()[before];
    assert.ok(token, "the relying party got the token");
    const claims = jose.decodeJwt(token);
    const discovery = (await (await fetch(`${claims.iss}/.well-known/openid-configuration`)).json()) as { jwks_uri: string; issuer: string };
    const { payload } = await jose.jwtVerify(token, jose.createRemoteJWKSet(new URL(discovery.jwks_uri)), { issuer: discovery.issuer, algorithms: ["RS256"] });
    assert.match(String(payload.sub), /^\{[0-9a-f-]{36}\}:\{[0-9a-f-]{36}\}$/);
    assert.match(log, new RegExp(`\\[pipelines\\] executor: sandbox`));
  });
});
