import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { MalformedEventError, parseCloudEvent } from "../../../src/forges/cloud/parse-cloud-event";
import type { ParsedDelivery, PullRequestEvent, PushEvent } from "../../../src/forges/events";
import { FIXTURES, fixture } from "../../support/install";

/**
 * parseCloudEvent against the real Bitbucket Cloud deliveries in shared/fixtures: plain repository webhooks (the
 * body is the payload) and Connect deliveries (`{headers, payload: {event, data}}`, the parser gets `data`).
 * Expected values below were read from the fixture files themselves.
 */

const CLOUD = "bitbucket/cloud";

type Json = Record<string, unknown>;
interface ConnectDelivery {
  headers: Record<string, string>;
  payload: { event: string; data: Json };
}

/** A delivery as the intake hands it over: the event key and the webhook body (Connect: its `data`). */
function delivery(file: string): { eventKey: string; data: Json } {
  if (file.startsWith("connect/")) {
    const { headers, payload } = fixture<ConnectDelivery>(`${CLOUD}/${file}`);
    assert.equal(payload.event, headers["X-Event-Key"], `${file}: body event and X-Event-Key agree`);
    return { eventKey: payload.event, data: payload.data };
  }
  const base = path.basename(file, ".json");
  const eventKey = base.startsWith("repo_push") ? "repo:push" : base.startsWith("pullrequest_") ? `pullrequest:${base.slice("pullrequest_".length)}` : "repo:commit_status_created";
  return { eventKey, data: fixture<Json>(`${CLOUD}/${file}`) };
}

function parseFixture(file: string): ParsedDelivery {
  const { eventKey, data } = delivery(file);
  return parseCloudEvent(eventKey, data);
}

/** A deep copy of a fixture's body, to change one thing in it. */
function bodyOf(file: string): Json {
  return structuredClone(delivery(file).data);
}

function onlyEvent<T>(parsed: ParsedDelivery): T {
  assert.equal(parsed.events.length, 1, `one event expected, got ${JSON.stringify(parsed)}`);
  assert.deepEqual(parsed.ignored, []);
  return parsed.events[0] as T;
}

function throwsMalformed(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MalformedEventError, `expected a MalformedEventError, got ${String(err)}`);
    assert.equal(err.name, "MalformedEventError");
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

// Values read from the fixture files.
const FOO = { fullName: "brydzewski/foo", uuid: "{bc771cbf-829e-4c4b-b71f-a0eb3ac2b860}", name: "foo" };
const BRAD = { uuid: "{87bb15eb-47c1-49b3-9f16-ca824a2979a4}", displayName: "Brad Rydzewski" };
const PANTS = { fullName: "festivus-miracle/minimal-pants", uuid: "{c389eba6-ca13-49c5-8dec-4e617d39dffe}", name: "minimal-pants" };
const ASHER = { uuid: "{6ae3c307-ae59-4135-9c72-bdd06eb2010a}", displayName: "Asher Foa" };
const NIKOLAS = { uuid: "{7d3a178a-a087-4756-b2da-2f9eadf50ba8}", displayName: "Nikolas Falco" };
const MERGE_MESSAGE = "Merged in upgrades (pull request #9)\n\nAdd & run linters";

describe("parseCloudEvent: every real Cloud delivery of a kind we act on", () => {
  const files = [
    ...fs.readdirSync(path.join(FIXTURES, CLOUD)).filter((f) => /^(repo_push|pullrequest)_.*\.json$/.test(f)),
    ...fs.readdirSync(path.join(FIXTURES, CLOUD, "connect")).filter((f) => /^webhook_(repo_push|pullrequest)_.*\.json$/.test(f)).map((f) => `connect/${f}`),
    "signed/repo_push_signed.json",
  ];

  it("finds the fixtures (so the loop below is not vacuous)", () => {
    assert.ok(files.length >= 17, `only ${files.length} fixtures found: ${files.join(", ")}`);
  });

  for (const file of files) {
    it(`${file} parses into events or reasons, never an error`, () => {
      const parsed = parseFixture(file);
      assert.ok(parsed.events.length + parsed.ignored.length > 0, "says something about the delivery");
      for (const event of parsed.events) {
        if (event.kind === "push") {
          assert.match(event.commit, /^[0-9a-f]{40}$/);
          if (event.previousCommit !== null) assert.match(event.previousCommit, /^[0-9a-f]{40}$/);
        } else {
          assert.match(event.sourceCommit, /^[0-9a-f]{12,40}$/);
        }
      }
    });
  }
});

describe("parseCloudEvent: repo:push", () => {
  const pushes: { file: string; expected: Omit<PushEvent, "kind"> }[] = [
    {
      file: "repo_push_branch_update.json",
      expected: {
        repository: FOO,
        refType: "branch",
        refName: "master",
        commit: "141977fedf5cf35aa290ac87d4b5177ac4cd9de1",
        previousCommit: "40e7580cf11311d84a6e5e97e2cbba6df1675750",
        headMessage: "Update README\n",
        headAuthor: "Brad Rydzewski",
        created: false,
        forced: false,
        actor: BRAD,
      },
    },
    {
      file: "repo_push_branch_create.json",
      expected: {
        repository: FOO,
        refType: "branch",
        refName: "develop",
        commit: "141977fedf5cf35aa290ac87d4b5177ac4cd9de1",
        previousCommit: null,
        headMessage: "Update README\n",
        headAuthor: "Brad Rydzewski",
        created: true,
        forced: false,
        actor: BRAD,
      },
    },
    {
      file: "repo_push_tag_create.json",
      expected: {
        repository: FOO,
        refType: "tag",
        refName: "feature/x",
        commit: "141977fedf5cf35aa290ac87d4b5177ac4cd9de1",
        previousCommit: null,
        headMessage: "Update README\n",
        headAuthor: "Brad Rydzewski",
        created: true,
        forced: false,
        actor: BRAD,
      },
    },
    {
      // An annotated tag: the event carries the tagged commit and its message, not the tag object's own message.
      file: "repo_push_annotated_tag_create.json",
      expected: {
        repository: { fullName: "amuniz/test-repos", uuid: "{3deb8c29-778a-450c-8f69-3e50a18079df}", name: "test-repos" },
        refType: "tag",
        refName: "test-tag",
        commit: "7ef5981d59145c3ed300b1ab77b93907d33abe59",
        previousCommit: null,
        headMessage: "Test pipeline for issue JENKINS-75182\n",
        headAuthor: "Nikolas Falco",
        created: true,
        forced: false,
        actor: NIKOLAS,
      },
    },
    {
      // The display name differs from the slug: fullName keeps the slug.
      file: "repo_push_woodpecker.json",
      expected: {
        repository: { fullName: "martinherren1984/publictestrepo", uuid: "{898477b2-a080-4089-b385-597a783db392}", name: "PublicTestRepo" },
        refType: "branch",
        refName: "main",
        commit: "c14c1bb05dfb1fdcdf06b31485fff61b0ea44277",
        previousCommit: "a51241ae1f00cbe728930db48e890b18fd527f99",
        headMessage: "a\n",
        headAuthor: "Martin Herren",
        created: false,
        forced: false,
        actor: { uuid: "{c5a0d676-fd27-4bd4-ac69-a7540d7b495b}", displayName: "Martin Herren" },
      },
    },
    {
      file: "signed/repo_push_signed.json",
      expected: {
        repository: { fullName: "nfalco79/test-repos", uuid: "{3deb8c29-778a-450c-8f69-3e50a18079df}", name: "test-repos" },
        refType: "branch",
        refName: "feature/webhook",
        commit: "d7f300a32270053bdfd97a6d64113f58202c33e7",
        previousCommit: null,
        headMessage: "Test for webhook signature\n",
        headAuthor: "Nikolas Falco",
        created: true,
        forced: false,
        actor: NIKOLAS,
      },
    },
    {
      // The change says `truncated: true` (more commits than it lists): the head is still known, so it builds.
      file: "connect/webhook_repo_push_create_branch.json",
      expected: {
        repository: PANTS,
        refType: "branch",
        refName: "upgrades",
        commit: "a1742195055d9234440410f95462fdebb05b5ac2",
        previousCommit: null,
        headMessage: "run linters\n",
        headAuthor: "Asher Foa",
        created: true,
        forced: false,
        actor: ASHER,
      },
    },
    {
      file: "connect/webhook_repo_push_create_tag.json",
      expected: {
        repository: PANTS,
        refType: "tag",
        refName: "feats-of-strength",
        commit: "d98f3c1d2ad48d6f7ed51281eb28ad3b233878c4",
        previousCommit: null,
        headMessage: MERGE_MESSAGE,
        headAuthor: "Asher Foa",
        created: true,
        forced: false,
        actor: ASHER,
      },
    },
    {
      file: "connect/webhook_repo_push_pr_merge.json",
      expected: {
        repository: PANTS,
        refType: "branch",
        refName: "main",
        commit: "d98f3c1d2ad48d6f7ed51281eb28ad3b233878c4",
        previousCommit: "f670f08a94d3c0893a60a68d7179cc41065b72c9",
        headMessage: MERGE_MESSAGE,
        headAuthor: "Asher Foa",
        created: false,
        forced: false,
        actor: ASHER,
      },
    },
  ];

  for (const { file, expected } of pushes) {
    it(`${file}: one ${expected.refType} ${expected.refName} at ${expected.commit.slice(0, 7)}${expected.created ? " (created)" : ""}`, () => {
      assert.deepEqual(onlyEvent<PushEvent>(parseFixture(file)), { kind: "push", ...expected });
    });
  }

  const deletions: [file: string, reason: string][] = [
    ["repo_push_branch_delete.json", 'branch "develop" was deleted'],
    ["repo_push_tag_delete.json", 'tag "feature/x" was deleted'],
    ["connect/webhook_repo_push_delete_branch.json", 'branch "jerry" was deleted'],
  ];
  for (const [file, reason] of deletions) {
    it(`${file}: a deleted ref builds nothing and says so`, () => {
      assert.deepEqual(parseFixture(file), { events: [], ignored: [{ reason }] });
    });
  }

  it("the connect delivery's data and a plain webhook body parse alike (the parser never sees the wrapper)", () => {
    const connect = fixture<ConnectDelivery>(`${CLOUD}/connect/webhook_repo_push_pr_merge.json`);
    assert.deepEqual(parseCloudEvent("repo:push", connect.payload.data), parseFixture("connect/webhook_repo_push_pr_merge.json"));
    // Handing over the whole `{event, data}` body by mistake is caught, not half-read.
    throwsMalformed(() => parseCloudEvent("repo:push", connect.payload), "repo:push has no repository");
  });

  describe("a push that moves several refs", () => {
    const changeOf = (file: string): Json => (bodyOf(file).push as { changes: Json[] }).changes[0];

    it("a push with three changes yields three events, in the order of the changes", () => {
      const body = bodyOf("repo_push_branch_update.json");
      (body.push as Json).changes = [changeOf("repo_push_branch_update.json"), changeOf("repo_push_branch_create.json"), changeOf("repo_push_tag_create.json")];
      const parsed = parseCloudEvent("repo:push", body);
      assert.deepEqual(parsed.ignored, []);
      assert.deepEqual(
        parsed.events.map((e) => e.kind === "push" && [e.refType, e.refName, e.commit, e.previousCommit, e.created]),
        [
          ["branch", "master", "141977fedf5cf35aa290ac87d4b5177ac4cd9de1", "40e7580cf11311d84a6e5e97e2cbba6df1675750", false],
          ["branch", "develop", "141977fedf5cf35aa290ac87d4b5177ac4cd9de1", null, true],
          ["tag", "feature/x", "141977fedf5cf35aa290ac87d4b5177ac4cd9de1", null, true],
        ],
      );
      for (const event of parsed.events) assert.deepEqual(event.repository, FOO);
    });

    it("a push that updates one branch and deletes another builds one and gives a reason for the other", () => {
      const body = bodyOf("repo_push_branch_update.json");
      (body.push as Json).changes = [changeOf("repo_push_branch_delete.json"), changeOf("repo_push_branch_update.json"), changeOf("repo_push_tag_delete.json")];
      const parsed = parseCloudEvent("repo:push", body);
      assert.deepEqual(
        parsed.events.map((e) => e.kind === "push" && e.refName),
        ["master"],
      );
      assert.deepEqual(parsed.ignored, [{ reason: 'branch "develop" was deleted' }, { reason: 'tag "feature/x" was deleted' }]);
    });

    it("a push with no changes builds nothing and says so", () => {
      const body = bodyOf("repo_push_branch_update.json");
      (body.push as Json).changes = [];
      assert.deepEqual(parseCloudEvent("repo:push", body), { events: [], ignored: [{ reason: "repo:push has no changes" }] });
    });

    it("one malformed change fails the whole delivery, naming that change", () => {
      const body = bodyOf("repo_push_branch_update.json");
      const bad = changeOf("repo_push_branch_create.json");
      ((bad.new as Json).target as Json).hash = "not-a-hash";
      (body.push as Json).changes = [changeOf("repo_push_branch_update.json"), bad];
      throwsMalformed(() => parseCloudEvent("repo:push", body), 'repo:push: push.changes[1].new.target.hash is not a 40-character lowercase hex commit hash (got "not-a-hash")');
    });
  });

  describe("what a change says about itself", () => {
    /** The branch-update fixture with its one change edited. */
    function withChange(edit: (change: Json) => void): Json {
      const body = bodyOf("repo_push_branch_update.json");
      edit((body.push as { changes: Json[] }).changes[0]);
      return body;
    }

    it("a force-push is marked forced", () => {
      const event = onlyEvent<PushEvent>(parseCloudEvent("repo:push", withChange((c) => (c.forced = true))));
      assert.equal(event.forced, true);
      assert.equal(event.previousCommit, "40e7580cf11311d84a6e5e97e2cbba6df1675750");
    });

    it("without a `created` flag, a ref with no old side counts as created, and one with an old side does not", () => {
      const updated = onlyEvent<PushEvent>(parseCloudEvent("repo:push", withChange((c) => delete c.created)));
      assert.equal(updated.created, false);
      const body = bodyOf("repo_push_branch_create.json");
      delete (body.push as { changes: Json[] }).changes[0].created;
      assert.equal(onlyEvent<PushEvent>(parseCloudEvent("repo:push", body)).created, true);
    });

    it("without a `forced` flag, the push is not forced", () => {
      assert.equal(onlyEvent<PushEvent>(parseCloudEvent("repo:push", withChange((c) => delete c.forced))).forced, false);
    });

    it("a head commit without a message gives headMessage null", () => {
      const body = withChange((c) => delete ((c.new as Json).target as Json).message);
      assert.equal(onlyEvent<PushEvent>(parseCloudEvent("repo:push", body)).headMessage, null);
    });

    it("a push without an actor has no actor; an actor with only a uuid keeps the uuid", () => {
      const body = bodyOf("repo_push_branch_update.json");
      delete body.actor;
      assert.equal("actor" in onlyEvent<PushEvent>(parseCloudEvent("repo:push", body)), false);
      body.actor = { uuid: "{u}", display_name: 42 };
      assert.deepEqual(onlyEvent<PushEvent>(parseCloudEvent("repo:push", body)).actor, { uuid: "{u}" });
      body.actor = "someone";
      assert.equal("actor" in onlyEvent<PushEvent>(parseCloudEvent("repo:push", body)), false);
    });

    it("a repository without uuid or display name still parses, keyed by its full name", () => {
      const body = bodyOf("repo_push_branch_update.json");
      body.repository = { full_name: "brydzewski/foo" };
      assert.deepEqual(onlyEvent<PushEvent>(parseCloudEvent("repo:push", body)).repository, { fullName: "brydzewski/foo" });
    });

    it("a ref that is neither a branch nor a tag (Mercurial's named_branch, bookmark) builds nothing and says so", () => {
      for (const type of ["named_branch", "bookmark"]) {
        const parsed = parseCloudEvent("repo:push", withChange((c) => ((c.new as Json).type = type)));
        assert.deepEqual(parsed, { events: [], ignored: [{ reason: `ref "master" of type "${type}" is not a branch or tag` }] });
      }
    });
  });

  describe("ref names that are not safe to hand to git are refused", () => {
    const unsafe: [type: "branch" | "tag", name: string][] = [
      ["branch", "--upload-pack=touch pwned"],
      ["branch", "$(touch pwned2)"],
      ["tag", ";touch pwned3"],
      ["branch", "-f"],
      ["branch", "main\nrm -rf /"],
      ["branch", "../../etc/passwd"],
      ["tag", "v1.0^{}"],
      ["branch", "feature/.hidden"],
      ["branch", "main.lock"],
    ];
    for (const [type, name] of unsafe) {
      it(`${type} ${JSON.stringify(name)} builds nothing, and the reason quotes it escaped`, () => {
        const body = bodyOf(type === "tag" ? "repo_push_tag_create.json" : "repo_push_branch_update.json");
        ((body.push as { changes: Json[] }).changes[0].new as Json).name = name;
        const parsed = parseCloudEvent("repo:push", body);
        assert.deepEqual(parsed.events, []);
        assert.deepEqual(parsed.ignored, [{ reason: `${type} name ${JSON.stringify(name)} is not a safe git ref name` }]);
        assert.ok(!parsed.ignored[0].reason.includes("\n"), "no raw newline reaches a log line");
      });
    }

    it("an unsafe ref does not stop the other refs of the same push from building", () => {
      const body = bodyOf("repo_push_branch_update.json");
      const changes = (body.push as { changes: Json[] }).changes;
      const evil = structuredClone(changes[0]);
      (evil.new as Json).name = "--upload-pack=touch pwned";
      changes.unshift(evil);
      const parsed = parseCloudEvent("repo:push", body);
      assert.deepEqual(
        parsed.events.map((e) => e.kind === "push" && e.refName),
        ["master"],
      );
      assert.equal(parsed.ignored.length, 1);
    });

    it("a very long unsafe name is clipped in the reason", () => {
      const body = bodyOf("repo_push_branch_update.json");
      ((body.push as { changes: Json[] }).changes[0].new as Json).name = `${"a".repeat(300)} b`;
      const [{ reason }] = parseCloudEvent("repo:push", body).ignored;
      assert.equal(reason, `branch name "${"a".repeat(100)}…" is not a safe git ref name`);
    });
  });

  describe("malformed bodies throw MalformedEventError naming what is wrong", () => {
    const valid = () => bodyOf("repo_push_branch_update.json");
    const change = (body: Json): Json => (body.push as { changes: Json[] }).changes[0];

    it("a body that is not a JSON object", () => {
      throwsMalformed(() => parseCloudEvent("repo:push", [valid()]), "repo:push body is not a JSON object (got an array)");
      throwsMalformed(() => parseCloudEvent("repo:push", null), "repo:push body is not a JSON object (got null)");
      throwsMalformed(() => parseCloudEvent("repo:push", '{"push":{}}'), 'repo:push body is not a JSON object (got "{\\"push\\":{}}")');
      throwsMalformed(() => parseCloudEvent("repo:push", 42), "repo:push body is not a JSON object (got number 42)");
      throwsMalformed(() => parseCloudEvent("repo:push", undefined), "repo:push body is not a JSON object (got undefined undefined)");
    });

    it("no push, or a push without changes", () => {
      const noPush = valid();
      delete noPush.push;
      throwsMalformed(() => parseCloudEvent("repo:push", noPush), "repo:push has no push");
      const noChanges = valid();
      noChanges.push = {};
      throwsMalformed(() => parseCloudEvent("repo:push", noChanges), "repo:push has no push.changes");
      const nullChanges = valid();
      nullChanges.push = { changes: null };
      throwsMalformed(() => parseCloudEvent("repo:push", nullChanges), "repo:push: push.changes is not an array (got null)");
      const objectChanges = valid();
      objectChanges.push = { changes: { 0: change(valid()) } };
      throwsMalformed(() => parseCloudEvent("repo:push", objectChanges), "repo:push: push.changes is not an array (got an object)");
      const arrayPush = valid();
      arrayPush.push = [];
      throwsMalformed(() => parseCloudEvent("repo:push", arrayPush), "repo:push: push is not an object (got an array)");
    });

    it("a change that is not an object, or has neither side", () => {
      const body = valid();
      (body.push as Json).changes = [null];
      throwsMalformed(() => parseCloudEvent("repo:push", body), "repo:push: push.changes[0] is not an object (got null)");
      (body.push as Json).changes = [{ new: null, old: null }];
      throwsMalformed(() => parseCloudEvent("repo:push", body), "repo:push: push.changes[0] is not a change with a new or an old side (got an object)");
    });

    it("a target hash that is not 40 lowercase hex", () => {
      const bad: unknown[] = ["zz1977fedf5cf35aa290ac87d4b5177ac4cd9de1", "141977FEDF5CF35AA290AC87D4B5177AC4CD9DE1", "141977fedf5c", "141977fedf5cf35aa290ac87d4b5177ac4cd9de1\n", 141977, null];
      for (const hash of bad) {
        const body = valid();
        ((change(body).new as Json).target as Json).hash = hash;
        throwsMalformed(() => parseCloudEvent("repo:push", body), /^repo:push: push\.changes\[0\]\.new\.target\.hash is not a 40-character lowercase hex commit hash \(got /);
      }
      const missing = valid();
      delete ((change(missing).new as Json).target as Json).hash;
      throwsMalformed(() => parseCloudEvent("repo:push", missing), "repo:push has no push.changes[0].new.target.hash");
    });

    it("the old side is checked too, even for a deletion", () => {
      const body = valid();
      ((change(body).old as Json).target as Json).hash = "xyz";
      throwsMalformed(() => parseCloudEvent("repo:push", body), 'repo:push: push.changes[0].old.target.hash is not a 40-character lowercase hex commit hash (got "xyz")');
      const deletion = bodyOf("repo_push_branch_delete.json");
      delete (change(deletion).old as Json).name;
      throwsMalformed(() => parseCloudEvent("repo:push", deletion), "repo:push has no push.changes[0].old.name");
    });

    it("a side without type, name or target, or with flags of the wrong type", () => {
      const cases: [edit: (c: Json) => void, message: string][] = [
        [(c) => delete (c.new as Json).type, "repo:push has no push.changes[0].new.type"],
        [(c) => ((c.new as Json).name = ["master"]), "repo:push: push.changes[0].new.name is not a string (got an array)"],
        [(c) => delete (c.new as Json).target, "repo:push has no push.changes[0].new.target"],
        [(c) => (c.new = "master"), 'repo:push: push.changes[0].new is not an object (got "master")'],
        [(c) => (c.created = "yes"), 'repo:push: push.changes[0].created is not a boolean (got "yes")'],
        [(c) => (c.forced = 1), "repo:push: push.changes[0].forced is not a boolean (got number 1)"],
      ];
      for (const [edit, message] of cases) {
        const body = valid();
        edit(change(body));
        throwsMalformed(() => parseCloudEvent("repo:push", body), message);
      }
    });

    it("a repository that is missing or not named workspace/slug", () => {
      const noRepo = valid();
      delete noRepo.repository;
      throwsMalformed(() => parseCloudEvent("repo:push", noRepo), "repo:push has no repository");
      for (const fullName of ["foo", "a/b/c", "../etc", "ws/..", "./x", "ws/re po", "", "ws/"]) {
        const body = valid();
        (body.repository as Json).full_name = fullName;
        throwsMalformed(() => parseCloudEvent("repo:push", body), `repo:push: repository.full_name is not a repository full name like workspace/repo-slug (got ${JSON.stringify(fullName)})`);
      }
    });

    it("keys named __proto__ or constructor never stand in for the real ones", () => {
      const body = valid();
      const push = body.push;
      delete body.push;
      // What JSON.parse makes of a `__proto__` key: an own property of that name, which must not be read through.
      const sneaky = JSON.parse(JSON.stringify(body).replace(/^\{/, `{"__proto__":${JSON.stringify({ push })},"constructor":${JSON.stringify({ push })},`));
      throwsMalformed(() => parseCloudEvent("repo:push", sneaky), "repo:push has no push");
      const inner = JSON.parse(`{"__proto__":{"changes":[]},"constructor":{"changes":[]}}`);
      throwsMalformed(() => parseCloudEvent("repo:push", { ...valid(), push: inner }), "repo:push has no push.changes");
      // An object whose fields come only from its prototype.
      throwsMalformed(() => parseCloudEvent("repo:push", Object.create(valid())), "repo:push has no repository");
      const inheritedChanges = valid();
      inheritedChanges.push = Object.create({ changes: [] });
      throwsMalformed(() => parseCloudEvent("repo:push", inheritedChanges), "repo:push has no push.changes");
      const inheritedHash = valid();
      (change(inheritedHash).new as Json).target = Object.create({ hash: "141977fedf5cf35aa290ac87d4b5177ac4cd9de1" });
      throwsMalformed(() => parseCloudEvent("repo:push", inheritedHash), "repo:push has no push.changes[0].new.target.hash");
      assert.equal(({} as Json).changes, undefined, "nothing leaked onto Object.prototype");
      assert.equal(({} as Json).push, undefined, "nothing leaked onto Object.prototype");
    });

    it("a change whose new side exists only on its prototype is a deletion, not a build", () => {
      const deletion = change(bodyOf("repo_push_branch_delete.json"));
      const inheritedNew = Object.assign(Object.create({ new: { type: "branch", name: "evil", target: { hash: "141977fedf5cf35aa290ac87d4b5177ac4cd9de1" } } }), { old: deletion.old });
      const body = bodyOf("repo_push_branch_delete.json");
      (body.push as Json).changes = [inheritedNew];
      assert.deepEqual(parseCloudEvent("repo:push", body), { events: [], ignored: [{ reason: 'branch "develop" was deleted' }] });
    });
  });
});

describe("parseCloudEvent: pull requests", () => {
  const prs: { file: string; expected: Omit<PullRequestEvent, "kind"> }[] = [
    {
      file: "pullrequest_created.json",
      expected: {
        action: "created",
        repository: FOO,
        id: 1,
        title: "Awesome new feature",
        sourceBranch: "develop",
        sourceCommit: "507a576e59b3",
        sourceRepositoryFullName: "brydzewski/foo",
        destinationBranch: "master",
        destinationCommit: "7d1a175411ef",
        headMessage: null,
        actor: BRAD,
      },
    },
    {
      file: "pullrequest_updated.json",
      expected: {
        action: "updated",
        repository: FOO,
        id: 1,
        title: "Awesome new feature",
        sourceBranch: "develop",
        sourceCommit: "0704fc5beccc",
        sourceRepositoryFullName: "brydzewski/foo",
        destinationBranch: "master",
        destinationCommit: "7d1a175411ef",
        headMessage: null,
        actor: BRAD,
      },
    },
    {
      file: "pullrequest_fulfilled.json",
      expected: {
        action: "fulfilled",
        repository: FOO,
        id: 1,
        title: "Awesome new feature",
        sourceBranch: "develop",
        sourceCommit: "0704fc5beccc",
        sourceRepositoryFullName: "brydzewski/foo",
        destinationBranch: "master",
        destinationCommit: "7d1a175411ef",
        headMessage: null,
        actor: BRAD,
      },
    },
    {
      file: "pullrequest_rejected.json",
      expected: {
        action: "rejected",
        repository: FOO,
        id: 2,
        title: "update README",
        sourceBranch: "develop",
        sourceCommit: "6ca9fe26898a",
        sourceRepositoryFullName: "brydzewski/foo",
        destinationBranch: "master",
        destinationCommit: "4f8f6de9d0ff",
        headMessage: null,
        actor: BRAD,
      },
    },
    {
      file: "connect/webhook_pullrequest_created.json",
      expected: {
        action: "created",
        repository: PANTS,
        id: 9,
        title: "Add & run linters",
        sourceBranch: "upgrades",
        sourceCommit: "a1742195055d",
        sourceRepositoryFullName: "festivus-miracle/minimal-pants",
        destinationBranch: "main",
        destinationCommit: "f670f08a94d3",
        headMessage: null,
        actor: ASHER,
      },
    },
    {
      // From a fork: the source repository differs from the one the pull request belongs to.
      file: "connect/webhook_pullrequest_updated.json",
      expected: {
        action: "updated",
        repository: PANTS,
        id: 7,
        title: "Add linters",
        sourceBranch: "upgrades",
        sourceCommit: "c15bb3fdf21d",
        sourceRepositoryFullName: "asherf/minimal-pants",
        destinationBranch: "main",
        destinationCommit: "d98f3c1d2ad4",
        headMessage: null,
        actor: ASHER,
      },
    },
  ];

  for (const { file, expected } of prs) {
    it(`${file}: pull request #${expected.id} ${expected.action}, ${expected.sourceBranch}@${expected.sourceCommit} → ${expected.destinationBranch}`, () => {
      assert.deepEqual(onlyEvent<PullRequestEvent>(parseFixture(file)), { kind: "pull-request", ...expected });
    });
  }

  /** The created fixture with its pull request edited. */
  function withPr(edit: (pr: Json & { source: Json; destination: Json }) => void, eventKey = "pullrequest:created"): () => ParsedDelivery {
    const body = bodyOf("pullrequest_created.json");
    edit(body.pullrequest as Json & { source: Json; destination: Json });
    return () => parseCloudEvent(eventKey, body);
  }

  it("accepts a full 40-character source commit as well as Cloud's 12", () => {
    const event = onlyEvent<PullRequestEvent>(withPr((pr) => ((pr.source.commit as Json).hash = "507a576e59b3aaaaaaaaaaaaaaaaaaaaaaaaaaaa"))());
    assert.equal(event.sourceCommit, "507a576e59b3aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  });

  it("carries the source head's message when the payload has one", () => {
    const event = onlyEvent<PullRequestEvent>(withPr((pr) => ((pr.source.commit as Json).message = "Fix it [skip ci]\n"))());
    assert.equal(event.headMessage, "Fix it [skip ci]\n");
  });

  it("a destination without a commit gives destinationCommit null", () => {
    assert.equal(onlyEvent<PullRequestEvent>(withPr((pr) => (pr.destination.commit = null))()).destinationCommit, null);
    assert.equal(onlyEvent<PullRequestEvent>(withPr((pr) => delete pr.destination.commit)()).destinationCommit, null);
  });

  it("a pull request whose fork was deleted builds nothing and says so, whatever is left of its source", () => {
    const expected = { events: [], ignored: [{ reason: "pull request #1: its source repository no longer exists" }] };
    assert.deepEqual(withPr((pr) => (pr.source.repository = null))(), expected);
    assert.deepEqual(
      withPr((pr) => {
        pr.source.repository = null;
        pr.source.commit = null;
      })(),
      expected,
    );
  });

  it("unsafe branch names build nothing and say which side", () => {
    assert.deepEqual(withPr((pr) => ((pr.source.branch as Json).name = "--upload-pack=touch pwned"))(), {
      events: [],
      ignored: [{ reason: 'pull request #1: source branch name "--upload-pack=touch pwned" is not a safe git ref name' }],
    });
    assert.deepEqual(withPr((pr) => ((pr.destination.branch as Json).name = "$(touch pwned2)"))(), {
      events: [],
      ignored: [{ reason: 'pull request #1: destination branch name "$(touch pwned2)" is not a safe git ref name' }],
    });
  });

  describe("malformed pull requests throw MalformedEventError naming the path", () => {
    it("a body or pull request that is not an object", () => {
      throwsMalformed(() => parseCloudEvent("pullrequest:created", []), "pullrequest:created body is not a JSON object (got an array)");
      const body = bodyOf("pullrequest_created.json");
      body.pullrequest = [body.pullrequest];
      throwsMalformed(() => parseCloudEvent("pullrequest:updated", body), "pullrequest:updated: pullrequest is not an object (got an array)");
      delete body.pullrequest;
      throwsMalformed(() => parseCloudEvent("pullrequest:fulfilled", body), "pullrequest:fulfilled has no pullrequest");
    });

    it("an id that is not a positive integer", () => {
      throwsMalformed(withPr((pr) => delete pr.id), "pullrequest:created has no pullrequest.id");
      for (const [id, got] of [["1", '"1"'], [0, "number 0"], [-3, "number -3"], [1.5, "number 1.5"], [null, "null"], [2 ** 53, `number ${2 ** 53}`]] as const) {
        throwsMalformed(withPr((pr) => (pr.id = id)), `pullrequest:created: pullrequest.id is not a positive integer (got ${got})`);
      }
    });

    it("a source commit that is not 12 to 40 lowercase hex — 12-char hashes are fine, 11 are not", () => {
      const message = (got: string) => `pullrequest:created: pullrequest.source.commit.hash is not a commit hash of 12 to 40 lowercase hex characters (got ${got})`;
      throwsMalformed(withPr((pr) => ((pr.source.commit as Json).hash = "507a576e59b")), message('"507a576e59b"'));
      throwsMalformed(withPr((pr) => ((pr.source.commit as Json).hash = "507A576E59B3")), message('"507A576E59B3"'));
      throwsMalformed(withPr((pr) => ((pr.source.commit as Json).hash = "507a576e59bz")), message('"507a576e59bz"'));
      throwsMalformed(withPr((pr) => ((pr.source.commit as Json).hash = "5".repeat(41))), message(`"${"5".repeat(41)}"`));
      throwsMalformed(withPr((pr) => delete (pr.source.commit as Json).hash), "pullrequest:created has no pullrequest.source.commit.hash");
      throwsMalformed(withPr((pr) => (pr.source.commit = null)), "pullrequest:created: pullrequest.source.commit is not an object (got null)");
    });

    it("a destination commit, when present, must be a hash too", () => {
      throwsMalformed(
        withPr((pr) => ((pr.destination.commit as Json).hash = "main")),
        'pullrequest:created: pullrequest.destination.commit.hash is not a commit hash of 12 to 40 lowercase hex characters (got "main")',
      );
      throwsMalformed(withPr((pr) => (pr.destination.commit = "7d1a175411ef")), 'pullrequest:created: pullrequest.destination.commit is not an object (got "7d1a175411ef")');
    });

    it("missing title, branches, source repository or destination", () => {
      const cases: [edit: (pr: Json & { source: Json; destination: Json }) => void, message: string][] = [
        [(pr) => delete pr.title, "pullrequest:created has no pullrequest.title"],
        [(pr) => delete pr.source.branch, "pullrequest:created has no pullrequest.source.branch"],
        [(pr) => delete (pr.source.branch as Json).name, "pullrequest:created has no pullrequest.source.branch.name"],
        [(pr) => delete (pr.destination.branch as Json).name, "pullrequest:created has no pullrequest.destination.branch.name"],
        [(pr) => delete pr.source.repository, "pullrequest:created has no pullrequest.source.repository"],
        [(pr) => ((pr.source.repository as Json).full_name = "../evil"), 'pullrequest:created: pullrequest.source.repository.full_name is not a repository full name like workspace/repo-slug (got "../evil")'],
        [(pr) => delete (pr as Json).destination, "pullrequest:created has no pullrequest.destination"],
        [(pr) => delete (pr as Json).source, "pullrequest:created has no pullrequest.source"],
      ];
      for (const [edit, message] of cases) throwsMalformed(withPr(edit), message);
    });

    it("fields that exist only on a prototype, or under __proto__, do not count", () => {
      throwsMalformed(
        withPr((pr) => {
          delete pr.id;
          Object.setPrototypeOf(pr, { id: 5 });
        }),
        "pullrequest:created has no pullrequest.id",
      );
      const body = bodyOf("pullrequest_created.json");
      const pr = body.pullrequest as Json;
      delete pr.id;
      const sneaky = JSON.parse(JSON.stringify(body).replace('"pullrequest":{', '"pullrequest":{"__proto__":{"id":5},"constructor":{"id":5},'));
      throwsMalformed(() => parseCloudEvent("pullrequest:created", sneaky), "pullrequest:created has no pullrequest.id");
      // A deleted fork is recognised by an own `repository: null`, not by one inherited from a prototype.
      throwsMalformed(
        withPr((pr) => {
          delete pr.source.repository;
          Object.setPrototypeOf(pr.source, { repository: null });
        }),
        "pullrequest:created has no pullrequest.source.repository",
      );
      const inheritedMessage = withPr((pr) => Object.setPrototypeOf(pr.source.commit as Json, { message: "[skip ci]" }))();
      assert.equal(onlyEvent<PullRequestEvent>(inheritedMessage).headMessage, null);
    });
  });
});

describe("parseCloudEvent: events Pipelines does not act on", () => {
  it("repo:commit_status_created (plain and Connect) is ignored with a reason, not an error", () => {
    const reason = 'event "repo:commit_status_created" is not one Pipelines acts on';
    assert.deepEqual(parseFixture("repo_commit_status_created.json"), { events: [], ignored: [{ reason }] });
    assert.deepEqual(parseFixture("connect/webhook_repo_commit_status_created.json"), { events: [], ignored: [{ reason }] });
  });

  it("other keys, including ones that name Object.prototype members, are ignored whatever the body", () => {
    for (const key of ["pullrequest:comment_created", "issue:created", "repo:fork", "PULLREQUEST:CREATED", "Repo:Push", "", "__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"]) {
      assert.deepEqual(parseCloudEvent(key, null), { events: [], ignored: [{ reason: `event ${JSON.stringify(key)} is not one Pipelines acts on` }] }, key);
    }
  });

  it("an event key with control characters is escaped in the reason", () => {
    const [{ reason }] = parseCloudEvent("repo:push\r\nX-Injected: 1", {}).ignored;
    assert.equal(reason, 'event "repo:push\\r\\nX-Injected: 1" is not one Pipelines acts on');
    const [{ reason: raw }] = parseCloudEvent("repo:push\r\nX", {}).ignored;
    assert.ok(!/[\r\n]/.test(raw));
  });
});
