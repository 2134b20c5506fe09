import assert from "node:assert/strict";
import { parseForgeEvent } from "../../src/forges/cloud-forge-app/parse-forge-event";
import { MalformedEventError } from "../../src/forges/events";

// Shaped exactly as Forge's Bitbucket events reference shows them (developer.atlassian.com, events-reference/bitbucket).
const BASE = {
  actor: { type: "user", accountId: "5ffed3379edf280075d75b20", uuid: "{cc8e193d-7603-4dfd-8771-fcc8960aa0fb}" },
  repository: { uuid: "{15a31549-1cff-45dc-9d0d-310114c5038b}", slug: "repository-slug" },
  project: { uuid: "{1860e69a-65c1-4ac2-8ab0-cbd2868e7573}" },
  workspace: { uuid: "{4c16a397-8e48-479c-8ca2-442e46c90570}" },
  timestamp: "2026-03-23T06:03:12.361017Z",
};
const BRANCH_PUSH = {
  ...BASE,
  push: {
    ref: "main",
    mainbranch: true,
    after: "a37e0ad81173c7f6707d6b9f74dab4ce9938064d",
    created: true,
    closed: false,
    forced: false,
    truncated: false,
    commits: [{ hash: "a37e0ad81173c7f6707d6b9f74dab4ce9938064d", message: { value: "Initial commit [skip ci]", truncated: false }, date: "2023-05-12T01:40:22.000000Z", author: { user: BASE.actor } }],
  },
  eventType: "avi:bitbucket:push:repository",
};
const TAG_PUSH = {
  ...BASE,
  push: { ref: "v1.0", date: "2026-05-27T07:05:01.000000Z", after: "a37e0ad81173c7f6707d6b9f74dab4ce9938064d", created: true, closed: false, forced: false, author: { user: BASE.actor }, message: { truncated: false, value: "Release version 1.0\n" } },
  eventType: "avi:bitbucket:push:repository",
};
const PR = (eventType: string, state: string) => ({
  ...BASE,
  pullrequest: {
    id: 3,
    state,
    source: { branch: "Joshua-Tang/gitignore-edited-online-with-bitbucket-1683871668235", commit: { hash: "cc2758d231fc" } },
    destination: { branch: "master", commit: { hash: "a37e0ad81173" } },
    title: { truncated: false, value: "PR title" },
  },
  eventType,
});

describe("parsing Forge's Bitbucket events", () => {
  it("a branch push: one push event, the repository by workspace and repository uuid, the head commit's message", () => {
    const { events, ignored } = parseForgeEvent("avi:bitbucket:push:repository", JSON.stringify(BRANCH_PUSH));
    assert.deepEqual(ignored, []);
    assert.equal(events.length, 1);
    const e = events[0];
    assert.ok(e.kind === "push");
    assert.equal(e.refType, "branch");
    assert.equal(e.refName, "main");
    assert.equal(e.commit, "a37e0ad81173c7f6707d6b9f74dab4ce9938064d");
    assert.equal(e.previousCommit, null);
    assert.equal(e.created, true);
    assert.equal(e.headMessage, "Initial commit [skip ci]");
    assert.deepEqual(e.repository, { fullName: "{4c16a397-8e48-479c-8ca2-442e46c90570}/{15a31549-1cff-45dc-9d0d-310114c5038b}", uuid: "{15a31549-1cff-45dc-9d0d-310114c5038b}", name: "repository-slug" });
  });

  it("a tag push (no mainbranch, no commits) is a tag; a deleted ref is ignored; retryContext changes nothing", () => {
    const [tag] = parseForgeEvent("avi:bitbucket:push:repository", JSON.stringify({ ...TAG_PUSH, retryContext: { retryCount: 2 } })).events;
    assert.ok(tag.kind === "push" && tag.refType === "tag" && tag.refName === "v1.0");
    const closed = parseForgeEvent("avi:bitbucket:push:repository", JSON.stringify({ ...BRANCH_PUSH, push: { ...BRANCH_PUSH.push, closed: true } }));
    assert.deepEqual(closed.events, []);
    assert.match(closed.ignored[0].reason, /deleted/);
  });

  it("pull requests created / updated / fulfilled / rejected, the 12-character source hash kept for resolving", () => {
    for (const [type, action] of [["avi:bitbucket:created:pullrequest", "created"], ["avi:bitbucket:updated:pullrequest", "updated"], ["avi:bitbucket:fulfilled:pullrequest", "fulfilled"], ["avi:bitbucket:rejected:pullrequest", "rejected"]] as const) {
      const [e] = parseForgeEvent(type, JSON.stringify(PR(type, "OPEN"))).events;
      assert.ok(e.kind === "pull-request");
      assert.equal(e.action, action);
      assert.equal(e.id, 3);
      assert.equal(e.title, "PR title");
      assert.equal(e.sourceCommit, "cc2758d231fc");
      assert.equal(e.destinationBranch, "master");
      assert.equal(e.sourceRepositoryFullName, e.repository.fullName);
    }
  });

  it("other events are ignored with the reason; a body that is not what it says is malformed, naming the path", () => {
    assert.match(parseForgeEvent("avi:bitbucket:created:repository", JSON.stringify(BASE)).ignored[0].reason, /not one Pipelines acts on/);
    assert.throws(() => parseForgeEvent("avi:bitbucket:push:repository", "{"), MalformedEventError);
    assert.throws(() => parseForgeEvent("avi:bitbucket:push:repository", JSON.stringify({ ...BRANCH_PUSH, push: { ...BRANCH_PUSH.push, after: "abc" } })), /push\.after/);
    assert.throws(() => parseForgeEvent("avi:bitbucket:push:repository", JSON.stringify({ ...BRANCH_PUSH, workspace: {} })), /workspace\.uuid/);
  });
});
