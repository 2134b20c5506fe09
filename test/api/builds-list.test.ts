import assert from "node:assert/strict";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { installWorld, type World } from "../support/build-world";
import type { Application } from "../../src/db/models";
import { api, insertBuild } from "./api-support";

interface Page {
  values: { id: number; number: number; state: string; ref: { name: string } }[];
  next: string | null;
}

/** GET /api/applications/:id/builds: newest first, keyset pages, filters, and the parameters it refuses. */
describe("API: listing an application's builds", () => {
  let bb: BitbucketCloud;
  let server: TestServer;
  let w: World;
  let app: Application;
  const ids: number[] = [];

  before(async () => {
    bb = await startBitbucketCloud();
    server = await startTestServer();
    w = await installWorld(bb, server, "list");
    const found = await server.storage.models.Application.findByPk(w.applicationId);
    assert.ok(found);
    app = found;
    const states = ["SUCCESSFUL", "FAILED", "STOPPED"] as const;
    for (let i = 0; i < 30; i++) {
      const b = await insertBuild(server.storage.models, app, { refName: i % 3 === 0 ? "main" : "feature/x", state: states[i % 3] }, 0);
      ids.push(b.id);
    }
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });

  const list = (query: string) => api(server, w, "get", `/api/applications/${w.applicationId}/builds${query}`);

  it("pages through 30 builds newest first with an opaque cursor, 25 by default", async () => {
    const first = await list("");
    assert.equal(first.status, 200);
    assert.equal((first.body as Page).values.length, 25);
    assert.ok((first.body as Page).next);

    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await list(`?limit=7${cursor ? `&cursor=${cursor}` : ""}`);
      assert.equal(res.status, 200, res.text);
      const page = res.body as Page;
      seen.push(...page.values.map((b) => b.id));
      cursor = page.next;
      pages++;
    } while (cursor);
    assert.equal(pages, 5);
    assert.deepEqual(seen, [...ids].reverse());
  });

  it("filters by branch and by state, and pages through a filtered list", async () => {
    const main = (await list("?branch=main")).body as Page;
    assert.deepEqual(main.values.map((b) => b.id), ids.filter((_, i) => i % 3 === 0).reverse());
    assert.equal(main.next, null);

    const failed: number[] = [];
    let cursor: string | null = null;
    do {
      const page: Page = (await list(`?state=FAILED&limit=4${cursor ? `&cursor=${cursor}` : ""}`)).body as Page;
      assert.ok(page.values.every((b) => b.state === "FAILED"));
      failed.push(...page.values.map((b) => b.id));
      cursor = page.next;
    } while (cursor);
    assert.deepEqual(failed, ids.filter((_, i) => i % 3 === 1).reverse());

    const both = (await list("?branch=feature/x&state=STOPPED")).body as Page;
    assert.deepEqual(both.values.map((b) => b.id), ids.filter((_, i) => i % 3 === 2).reverse());
    assert.deepEqual((await list("?state=PAUSED")).body, { values: [], next: null });
  });

  it("refuses an unknown state, a bad cursor, a bad limit and an unsafe branch name with 400", async () => {
    for (const q of ["?state=DONE", "?state=successful", "?cursor=nope!", `?cursor=${Buffer.from("12").toString("base64url")}`, "?cursor=MTIzLjQ1Ng==x", "?limit=0", "?limit=101", "?limit=ten", "?branch=a..b", "?state=FAILED&state=STOPPED"]) {
      const res = await list(q);
      assert.equal(res.status, 400, `${q}: ${res.text}`);
      assert.equal(typeof res.body.error, "string");
    }
    assert.equal((await list("?limit=100")).status, 200);
  });

  it("a build in the list has the summary shape", async () => {
    const page = (await list("?limit=1")).body as { values: Record<string, unknown>[] };
    const b = page.values[0];
    assert.equal(b.id, ids[ids.length - 1]);
    assert.equal(b.repository, `${w.workspace}/${w.slug}`);
    assert.deepEqual(b.ref, { type: "branch", name: "feature/x" });
    assert.deepEqual(b.warnings, []);
    assert.equal("plan" in b, false);
  });
});
