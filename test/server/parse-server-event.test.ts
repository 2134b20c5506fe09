import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { parseServerEvent } from "../../src/forges/server/parse-server-event";
import { serverForge } from "../../src/forges/server/server-forge";
import { MalformedEventError, type PullRequestEvent, type PushEvent } from "../../src/forges/events";
import type { Models } from "../../src/db/models";
import { FIXTURES } from "../support/install";

/** parseServerEvent against the real Bitbucket Server / Data Center payloads in shared/fixtures (expected values read from the files). */
const DIR = path.join(FIXTURES, "bitbucket/server");
const raw = (file: string) => fs.readFileSync(path.join(DIR, file), "utf8");
const body = (file: string) => JSON.parse(raw(file)) as { eventKey: string };
const parse = (file: string) => {
  const b = body(file);
  return parseServerEvent(b.eventKey, b);
};

describe("parseServerEvent (Bitbucket Server fixtures)", () => {
  it("repo:refs_changed branch UPDATE → one push with the previous commit and the head message", () => {
    const { events, ignored } = parse("repo_refs_changed_branch_update.json");
    assert.deepEqual(ignored, []);
    assert.deepEqual(events, [
      {
        kind: "push",
        repository: { fullName: "AMUNIZ/test-repos", uuid: String((body("repo_refs_changed_branch_update.json") as unknown as { repository: { id: number } }).repository.id), name: "test-repos" },
        refType: "branch",
        refName: "main",
        commit: "9fdd7b96d3f5c276d0b9e0bf38c879eb112d889a",
        previousCommit: "a8c13e8850dc60300be720019d1ffc1aa2fded87",
        headMessage: "source-2: Wed 13 Nov 2024 21:54:36 AEST",
        created: false,
        forced: false,
        actor: { displayName: "Antonio Muniz" },
      } satisfies PushEvent,
    ]);
  });

  it("repo:refs_changed branch ADD (DC 10 payload) → a created push with no previous commit (all-zero fromHash)", () => {
    const [e] = parse("repo_refs_changed_branch_add.json").events as PushEvent[];
    assert.equal(e.refName, "feature/BB-1");
    assert.equal(e.refType, "branch");
    assert.equal(e.commit, "fb522a6f08c7c7df337312e4e65ec1b57710672e");
    assert.equal(e.previousCommit, null);
    assert.equal(e.created, true);
    assert.equal(e.repository.fullName, "AMUNIZ/test-repos");
  });

  it("repo:refs_changed tag ADD whose toCommit is toHash (a lightweight tag) → a tag push of that commit, with its message", () => {
    const { events } = parse("repo_refs_changed_tag_add.json");
    assert.equal(events.length, 1);
    const e = events[0] as PushEvent;
    assert.deepEqual([e.refType, e.refName, e.commit, e.created, e.headMessage], ["tag", "simple-tag", "fb522a6f08c7c7df337312e4e65ec1b57710672e", true, "Suppress echo command part"]);
    assert.equal(e.unresolvedTag, undefined, "toCommit shows that toHash is a commit: nothing to ask the server");
  });

  // Server sends an annotated tag's object id as toHash, and no payload field says which kind of tag it is.
  type RefsChanged = { changes: { toHash: string }[]; toCommit?: { id: string; message: string } };
  const tagAdd = () => body("repo_refs_changed_tag_add.json") as unknown as RefsChanged;

  it("a tag change without toCommit (a multi-ref push, or a server before 7) → unresolved: the server is asked for the commit", () => {
    const b = tagAdd();
    delete b.toCommit;
    const [e] = parseServerEvent("repo:refs_changed", b).events as PushEvent[];
    assert.equal(e.unresolvedTag, true);
    assert.equal(e.commit, b.changes[0].toHash, "the value as sent, until it is resolved");
    assert.equal(e.headMessage, null);
  });

  it("a tag change whose toHash is not toCommit's id (an annotated tag object) → unresolved, toCommit's message not taken", () => {
    const b = tagAdd();
    const tagObject = "7d2f6a33c0a9e7b4a1d7b1e4d6c8f0a2b3c4d5e6";
    b.changes[0].toHash = tagObject;
    const [e] = parseServerEvent("repo:refs_changed", b).events as PushEvent[];
    assert.deepEqual([e.unresolvedTag, e.commit, e.headMessage], [true, tagObject, null]);
  });

  it("a branch change without toCommit is a commit as sent (a branch cannot point at a tag object)", () => {
    const b = body("repo_refs_changed_branch_update.json") as unknown as RefsChanged;
    delete b.toCommit;
    const [e] = parseServerEvent("repo:refs_changed", b).events as PushEvent[];
    assert.deepEqual([e.refType, e.unresolvedTag, e.headMessage], ["branch", undefined, null]);
  });

  for (const [file, what, ref] of [
    ["repo_refs_changed_branch_delete.json", 'branch "feature/BB-1" was deleted', "branch:feature/BB-1"],
    ["repo_refs_changed_tag_delete.json", 'tag "simple-tag" was deleted', "tag:simple-tag"],
  ]) {
    it(`${file}: DELETE builds nothing and says why, naming the repository and ref`, () => {
      assert.deepEqual(parse(file), { events: [], ignored: [{ reason: what, repository: "AMUNIZ/test-repos", ref }] });
    });
  }

  it("repo:refs_changed from woodpecker's fixture → a push of renovate-all", () => {
    const [e] = parse("repo_refs_changed_woodpecker.json").events as PushEvent[];
    assert.deepEqual([e.repository.fullName, e.refName, e.commit, e.previousCommit, e.headMessage], ["DEV/deployment-automation", "renovate-all", "76797d54bca87db6d1e3e82ee40622c7908aa514", "e0e15221b987fd8296141c0faa6a79f7c86ca4ce", "chore(deps): update all"]);
  });

  it("the signed vector's repo:refs_changed → a push of master", () => {
    const b = JSON.parse(raw("signed/repo_refs_changed_signed.json")) as { eventKey: string };
    const [e] = parseServerEvent(b.eventKey, b).events as PushEvent[];
    assert.deepEqual([e.repository.fullName, e.refName, e.commit, e.previousCommit], ["PROJECT_1/rep_1", "master", "a00945762949b7b787ecabc388c0e20b1b85f0b4", "197a3e0d2f9a2b3ed1c4fe5923d5dd701bee9fdd"]);
  });

  const PRS: [string, PullRequestEvent["action"], Partial<PullRequestEvent>][] = [
    ["pr_opened.json", "created", { id: 125, repository: { fullName: "DEV/network-monitor", uuid: "1079", name: "network-monitor" }, sourceBranch: "PROJ-4596", sourceCommit: "1c7589876bc8b5e83122b1656925d679915193d4", destinationBranch: "main", destinationCommit: "3767a5d2d2223447d03838654baa271fc15d94df", sourceRepositoryFullName: "DEV/network-monitor", title: "feat: gather statistics about Woodpecker migration" }],
    ["pr_from_ref_updated.json", "updated", { id: 2, sourceBranch: "feature-2", sourceCommit: "c00d0f269a9844dd168f72f6a9d78a9cff49a318", destinationBranch: "master", destinationCommit: "823b2230a56056231c9425d63758fa87078a66b4", sourceRepositoryFullName: "PRJ/my-repo" }],
    ["pr_modified_toref.json", "updated", { id: 2, sourceBranch: "feature-2", destinationBranch: "master", destinationCommit: "0667def9e377a8fa76ce67b6d4e53e21b246f030" }],
    ["pr_merged.json", "fulfilled", { id: 111, sourceBranch: "PROJ-4584", sourceCommit: "993203acecdb65ffe947424d0917768b0e5c3903", destinationBranch: "master", sourceRepositoryFullName: "DEV/deployment-automation" }],
    ["pr_declined.json", "rejected", { id: 2, sourceBranch: "develop", sourceCommit: "b9eaed50a03c073b20dfa82e5e753d295e7f0e56", destinationBranch: "master" }],
    ["pr_deleted.json", "rejected", { id: 1, sourceBranch: "feature/diffstat", sourceCommit: "251fce291f086cdde68ae2a896148abb5b58033e", destinationBranch: "master", sourceRepositoryFullName: "AMUNIZ/test-repos" }],
  ];
  for (const [file, action, expected] of PRS) {
    it(`${file} → one pull-request event, action ${action}`, () => {
      const { events, ignored } = parse(file);
      assert.deepEqual(ignored, []);
      assert.equal(events.length, 1);
      const e = events[0] as PullRequestEvent;
      assert.equal(e.kind, "pull-request");
      assert.equal(e.action, action);
      for (const [k, v] of Object.entries(expected)) assert.deepEqual(e[k as keyof PullRequestEvent], v, k);
    });
  }

  it("pr:modified → an update carrying fromRef's latestCommit, which the build key compares with the builds already made", () => {
    const b = body("pr_modified_toref.json") as unknown as { pullRequest: { fromRef: { latestCommit: string }; title: string }; previousTitle: string };
    const [e] = parseServerEvent("pr:modified", b).events as PullRequestEvent[];
    assert.notEqual(b.previousTitle, b.pullRequest.title);
    assert.deepEqual([e.action, e.sourceCommit, e.title], ["updated", b.pullRequest.fromRef.latestCommit, "added LICENSE"]);
  });

  type PrBody = { eventKey: string; pullRequest: { id: number; fromRef: { id?: string; displayId: string; type?: string; latestCommit: string } } };
  const fromTag = (file: string, mark: (ref: PrBody["pullRequest"]["fromRef"]) => void) => {
    const b = body(file) as unknown as PrBody;
    b.pullRequest.fromRef.displayId = "v1.0";
    mark(b.pullRequest.fromRef);
    return b;
  };
  const tagMarks: [string, (ref: PrBody["pullRequest"]["fromRef"]) => void][] = [
    ["type TAG and id refs/tags/v1.0", (r) => ((r.type = "TAG"), (r.id = "refs/tags/v1.0"))],
    ["type TAG only", (r) => ((r.type = "TAG"), delete r.id)],
    ["id refs/tags/v1.0 only", (r) => (delete r.type, (r.id = "refs/tags/v1.0"))],
  ];
  for (const [what, mark] of tagMarks) {
    it(`a pull request whose source is a tag (${what}) is not built as a branch: ignored, with the reason and the repository`, () => {
      const b = fromTag("pr_opened.json", mark);
      const { events, ignored } = parseServerEvent(b.eventKey, b);
      assert.deepEqual(events, []);
      assert.equal(ignored.length, 1);
      assert.equal(ignored[0].repository, "DEV/network-monitor");
      assert.equal(ignored[0].ref, "pull-request:125");
      assert.equal(ignored[0].commit, b.pullRequest.fromRef.latestCommit);
      assert.match(ignored[0].reason, /^pull request #125: its source is tag "v1\.0", not a branch: pull-request pipelines run for source branches only, so it is not built/);
    });
  }

  it("a merged or declined pull request from a tag has nothing to stop, and says so", () => {
    for (const [file, key] of [["pr_merged.json", "pr:merged"], ["pr_declined.json", "pr:declined"]]) {
      const b = fromTag(file, (r) => ((r.type = "TAG"), (r.id = "refs/tags/v1.0")));
      const { events, ignored } = parseServerEvent(key, b);
      assert.deepEqual(events, [], file);
      assert.match(ignored[0].reason, /its source is tag "v1\.0", not a branch: .* it has no builds to stop/, file);
    }
  });

  it("diagnostics:ping and mirror:repo_synchronized are ignored with a reason", () => {
    assert.equal(parseServerEvent("diagnostics:ping", JSON.parse(raw("diagnostics_ping.json"))).ignored.length, 1);
    const m = body("mirror_repo_synchronized.json");
    assert.deepEqual(parseServerEvent(m.eventKey, m).events, []);
  });

  it("an unsafe branch name is ignored, a malformed body throws naming the path", () => {
    const b = JSON.parse(raw("repo_refs_changed_branch_update.json")) as { changes: { ref: { displayId: string } }[] };
    b.changes[0].ref.displayId = "--upload-pack=x";
    assert.match(parseServerEvent("repo:refs_changed", b).ignored[0].reason, /not a safe git ref name/);
    const c = JSON.parse(raw("repo_refs_changed_branch_update.json")) as { changes: { toHash: string }[] };
    c.changes[0].toHash = "ZZ";
    assert.throws(() => parseServerEvent("repo:refs_changed", c), (e: Error) => e instanceof MalformedEventError && /changes\[0\]\.toHash/.test(e.message));
    assert.throws(() => serverForge({} as Models).parseDelivery("repo:refs_changed", "{"), MalformedEventError);
  });
});
