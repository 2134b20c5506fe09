import assert from "node:assert/strict";
import { parseCloudEvent } from "../../src/forges/cloud/parse-cloud-event";
import type { PullRequestEvent, PushEvent } from "../../src/forges/events";
import { skipCiReason } from "../../src/forges/skip-ci";
import { fixture } from "../support/install";

describe("skipCiReason", () => {
  it("[skip ci] in the subject skips, and the reason quotes it", () => {
    assert.equal(skipCiReason("Update README [skip ci]"), 'commit message contains "[skip ci]"');
  });

  it("[ci skip] skips as well", () => {
    assert.equal(skipCiReason("[ci skip] docs only"), 'commit message contains "[ci skip]"');
  });

  it("[CI SKIP] in the body of the message skips, quoted as written", () => {
    assert.equal(skipCiReason("Fix the build\n\nNothing to test here.\n[CI SKIP]\n"), 'commit message contains "[CI SKIP]"');
  });

  it("any mix of case counts", () => {
    for (const marker of ["[Skip CI]", "[SKIP ci]", "[sKiP cI]", "[Ci Skip]"]) {
      assert.equal(skipCiReason(`chore: bump ${marker}`), `commit message contains "${marker}"`);
    }
  });

  it("anywhere means anywhere: glued to other words, the whole message, the last line", () => {
    assert.equal(skipCiReason("wip[skip ci]wip"), 'commit message contains "[skip ci]"');
    assert.equal(skipCiReason("[skip ci]"), 'commit message contains "[skip ci]"');
    assert.equal(skipCiReason(`${"line\n".repeat(1000)}[ci skip]`), 'commit message contains "[ci skip]"');
  });

  it("with both markers, the first one in the message is quoted", () => {
    assert.equal(skipCiReason("[ci skip] and also [skip ci]"), 'commit message contains "[ci skip]"');
    assert.equal(skipCiReason("[skip ci] and also [ci skip]"), 'commit message contains "[skip ci]"');
  });

  it("near misses build as usual", () => {
    const builds = [
      "skip ci",
      "ci skip",
      "[skip-ci]",
      "[skipci]",
      "[skip_ci]",
      "[ skip ci ]",
      "[skip  ci]",
      "[skip\tci]",
      "[skip\nci]",
      "(skip ci)",
      "{skip ci}",
      "[skip ci",
      "skip ci]",
      "[ci-skip]",
      "[no ci]",
      "[skip pipelines]",
      "Update README\n",
      "",
    ];
    for (const message of builds) assert.equal(skipCiReason(message), null, JSON.stringify(message));
  });

  it("no message at all (Cloud pull requests rarely carry one) never skips", () => {
    assert.equal(skipCiReason(null), null);
    assert.equal(skipCiReason(undefined), null);
  });

  describe("on what the Cloud parser hands over", () => {
    type Json = Record<string, unknown>;
    const pushBody = () => structuredClone(fixture<{ payload: { data: Json } }>("bitbucket/cloud/connect/webhook_repo_push_pr_merge.json").payload.data);
    const headOf = (body: Json): Json => (((body.push as { changes: Json[] }).changes[0].new as Json).target as Json);
    const pushEvent = (body: Json) => parseCloudEvent("repo:push", body).events[0] as PushEvent;

    it("the real merge push (message without a marker) builds", () => {
      const event = pushEvent(pushBody());
      assert.equal(event.headMessage, "Merged in upgrades (pull request #9)\n\nAdd & run linters");
      assert.equal(skipCiReason(event.headMessage), null);
    });

    it("the same push whose head commit says [CI SKIP] in its body is skipped", () => {
      const body = pushBody();
      headOf(body).message = "Merged in upgrades (pull request #9)\n\nAdd & run linters\n\n[CI SKIP]";
      assert.equal(skipCiReason(pushEvent(body).headMessage), 'commit message contains "[CI SKIP]"');
    });

    it("a marker only in an older commit of the push does not skip the head", () => {
      // The branch-create delivery lists five pushed commits, the head first.
      const body = structuredClone(fixture<{ payload: { data: Json } }>("bitbucket/cloud/connect/webhook_repo_push_create_branch.json").payload.data);
      const change = (body.push as { changes: Json[] }).changes[0];
      const commits = change.commits as Json[];
      assert.equal(commits.length, 5, "the fixture lists the pushed commits");
      commits[1].message = "Add linters [skip ci]\n";
      const event = pushEvent(body);
      assert.equal(event.headMessage, "run linters\n");
      assert.equal(skipCiReason(event.headMessage), null);
    });

    it("a real Cloud pull request has no head message, so it is never skipped on that ground", () => {
      const data = fixture<Json>("bitbucket/cloud/pullrequest_created.json");
      const event = parseCloudEvent("pullrequest:created", data).events[0] as PullRequestEvent;
      assert.equal(event.headMessage, null);
      assert.equal(skipCiReason(event.headMessage), null);
    });
  });
});
