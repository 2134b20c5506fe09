import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { PIPELINES_SCOPES, SCOPES, isKnownScope } from "../../src/scopes/catalogue";
import { effectiveScopes, parseScopeHeader } from "../../src/scopes/effective-scopes";
import { missingScopes } from "../../src/scopes/compare-scopes";
import { permissionsTable } from "../../src/cli/permissions";

const descriptor = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "atlassian-connect.json"), "utf8"));

describe("scopes", () => {
  it("the descriptor asks for exactly the Pipelines set, every scope known to Bitbucket", () => {
    assert.deepEqual(descriptor.scopes, [...PIPELINES_SCOPES]);
    for (const s of descriptor.scopes) assert.ok(isKnownScope(s), s);
  });
  it("the effective set of the Pipelines scopes is the one SCOPES.md states", () => {
    assert.deepEqual(effectiveScopes(PIPELINES_SCOPES), [
      "account", "account:write", "issue", "pullrequest", "pullrequest:write", "repository", "repository:write", "snippet", "team", "webhook", "wiki",
    ]);
  });
  it("implication rules", () => {
    assert.deepEqual(effectiveScopes(["repository:write"]), ["repository", "repository:write"]);
    assert.deepEqual(effectiveScopes(["repository:admin"]), ["repository:admin"], "admin includes neither read nor write");
    assert.deepEqual(effectiveScopes(["pullrequest"]), ["pullrequest", "repository"]);
    assert.deepEqual(effectiveScopes(["pullrequest:write"]), ["pullrequest", "pullrequest:write", "repository", "repository:write"]);
    assert.deepEqual(effectiveScopes(["wiki"]), ["wiki"]);
    assert.deepEqual(effectiveScopes(["issue:write", "snippet:write", "team:write", "account:write"]).sort(), ["account", "account:write", "issue", "issue:write", "snippet", "snippet:write", "team", "team:write"]);
  });
  it("a granted write scope covers a required read scope; each missing one names the feature", () => {
    assert.deepEqual(missingScopes(PIPELINES_SCOPES), []);
    const granted = PIPELINES_SCOPES.filter((s) => s !== "webhook" && s !== "account:write");
    assert.deepEqual(missingScopes(granted), [
      { scope: "account:write", feature: "To add the Pipelines SSH key to the user's account" },
      { scope: "webhook", feature: "To create and delete the push/pull-request webhooks" },
    ]);
    assert.deepEqual(missingScopes(["pullrequest:write", "account:write", "team", "issue", "snippet", "wiki", "webhook"]), [], "pullrequest:write covers repository:write");
  });
  it("parses X-OAuth-Scopes in its comma and space forms", () => {
    assert.deepEqual(parseScopeHeader("repository:write, webhook,team  wiki"), ["repository:write", "webhook", "team", "wiki"]);
    assert.deepEqual(parseScopeHeader(null), []);
  });
  it("the permissions table lists area, access, scope, approval text and reason for each requested scope", () => {
    const lines = permissionsTable();
    assert.match(lines[0], /Area\s+Access\s+Scope\s+What the user approves\s+Why Pipelines needs it/);
    assert.equal(lines.length, 2 + PIPELINES_SCOPES.length);
    const webhook = SCOPES.find((s) => s.scope === "webhook")!;
    assert.ok(lines.some((l) => l.includes("webhook") && l.includes(webhook.approval) && l.includes(webhook.why!)));
  });
});

describe("descriptor", () => {
  it("matches the snapshot of what Pipelines declares", () => {
    assert.deepEqual(
      {
        key: descriptor.key,
        baseUrl: descriptor.baseUrl,
        authentication: descriptor.authentication,
        lifecycle: descriptor.lifecycle,
        contexts: descriptor.contexts,
        webhooks: descriptor.modules.webhooks,
        panel: descriptor.modules.webPanels.map((p: { location: string; url: string }) => [p.location, p.url]),
        repoPages: descriptor.modules.repoPages.map((p: { location: string; url: string }) => [p.location, p.url]),
        configurePage: descriptor.modules.configurePage.url,
      },
      {
        key: "pipelines-for-bitbucket",
        baseUrl: "{{localBaseUrl}}",
        authentication: { type: "jwt" },
        lifecycle: { installed: "/installed", uninstalled: "/uninstalled" },
        contexts: ["account"],
        webhooks: ["repo:push", "pullrequest:created", "pullrequest:updated", "pullrequest:fulfilled", "pullrequest:rejected"].map((event) => ({ event, url: "/webhook" })),
        panel: [["org.bitbucket.repository.overview.informationPanel", "/pages/panel?repoUuid={repository.uuid}&repoPath={repository.full_name}"]],
        repoPages: [
          ["org.bitbucket.repository.navigation", "/pages/builds?repoUuid={repository.uuid}&repoPath={repository.full_name}"],
          ["org.bitbucket.repository.navigation", "/pages/deployments?repoUuid={repository.uuid}&repoPath={repository.full_name}"],
        ],
        configurePage: "/pages/configure?userUuid={user.uuid}",
      },
    );
  });
});
