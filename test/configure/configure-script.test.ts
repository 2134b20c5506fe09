import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { randomUUID } from "node:crypto";
import request from "supertest";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { eventually, installWorld, type World } from "../support/build-world";
import { mintToken } from "../support/connect-tokens";
import { el, miniDocument, type MiniElement } from "./mini-dom";

const SCRIPT = fs.readFileSync(path.join(__dirname, "..", "..", "public", "configure.js"), "utf8");

/**
 * public/configure.js run in a vm over a small DOM shaped like views/configure.hbs, calling the real server with
 * the context tokens its stand-in AP hands out: the buttons do what they say and show the answers.
 */
describe("configure page script", () => {
  let bb: BitbucketCloud;
  let server: TestServer;
  let w: World;
  let html: string;
  const user = `{${randomUUID()}}`;

  before(async () => {
    bb = await startBitbucketCloud();
    server = await startTestServer();
    w = await installWorld(bb, server, "cfgjs");
    const query = `userUuid=${encodeURIComponent(user)}`;
    const jwt = mintToken({ clientKey: w.clientKey, secret: bb.currentSecret(w.clientKey)!, method: "GET", path: "/pages/configure", query, claims: { sub: user } });
    html = (await request(server.url).get(`/pages/configure?${query}&jwt=${jwt}`)).text;
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });

  /** The parts of the page the script uses (the test below checks the real page has them). */
  function page(publicKey: string) {
    const keyBox = el("textarea", { id: "ssh-public-key" });
    keyBox.value = publicKey;
    const form = el(
      "form",
      { class: "configure-variable-form" },
      el("input", { name: "name" }),
      el("input", { name: "value" }),
      el("input", { name: "secured", type: "checkbox" }),
      el("button", { type: "submit" }),
      el("span", { class: "configure-result" }),
    );
    const settings = el(
      "form",
      { class: "application-settings-form" },
      el("input", { name: "autoBuild", type: "checkbox" }),
      el("input", { name: "autoCancel", type: "checkbox" }),
      el("input", { name: "branchFilter" }),
      el("button", { type: "submit" }),
      el("span", { class: "configure-result" }),
    );
    const app = el("div", { class: "configure-app", "data-application-id": String(w.applicationId) }, settings, el("table", {}, el("tbody")), form);
    const root = el(
      "main",
      { id: "configure", "data-base-url": server.url },
      el("p", { id: "configure-no-host" }),
      keyBox,
      el("button", { id: "ssh-copy" }),
      el("button", { id: "ssh-add-bitbucket" }),
      el("p", { id: "ssh-result", class: "configure-result" }),
      app,
    );
    root.querySelector("#configure-no-host")!.hidden = true;
    return { body: el("body", {}, root), form, app, settings };
  }

  function run(body: MiniElement, opts: { withAp?: boolean; sub?: string } = {}) {
    const copied: string[] = [];
    const AP = {
      context: {
        getToken: (cb: (t: string) => void) => cb(mintToken({ clientKey: w.clientKey, secret: bb.currentSecret(w.clientKey)!, context: true, claims: { sub: opts.sub ?? user } })),
      },
    };
    const sandbox: Record<string, unknown> = {
      document: miniDocument(body),
      window: { confirm: () => true },
      navigator: { clipboard: { writeText: async (t: string) => void copied.push(t) } },
      fetch,
    };
    if (opts.withAp !== false) sandbox.AP = AP;
    vm.runInNewContext(SCRIPT, sandbox);
    return { copied };
  }
  const text = (body: MiniElement, sel: string) => body.querySelector(sel)!.textContent;
  const until = (what: string, check: () => boolean) => eventually(what, async () => check(), 5000);

  it("the real page has every element the script looks for", () => {
    for (const needle of ['id="configure"', 'data-base-url="', 'id="configure-no-host"', 'id="ssh-public-key"', 'id="ssh-copy"', 'id="ssh-add-bitbucket"', 'id="ssh-result"', 'class="configure-app" data-application-id="', 'class="application-settings-form"', 'name="autoBuild"', 'name="autoCancel"', 'name="branchFilter"', 'class="configure-variable-form"', 'name="name"', 'name="value"', 'name="secured"', 'class="configure-result"']) {
      assert.ok(html.includes(needle), needle);
    }
  });

  it("Copy puts the public key on the clipboard; Add to my Bitbucket account shows what Bitbucket answered", async () => {
    const key = /id="ssh-public-key"[^>]*>([^<]*)</.exec(html)![1];
    const { body } = page(key);
    const { copied } = run(body);
    body.querySelector("#ssh-copy")!.click();
    await until("the copy", () => copied.length === 1);
    assert.equal(copied[0], key);

    body.querySelector("#ssh-add-bitbucket")!.click();
    await until("the key added", () => /Added the Pipelines SSH key/.test(text(body, "#ssh-result")));
    assert.match(body.querySelector("#ssh-result")!.className, /configure-ok/);
    assert.equal(bb.sshKeys().filter((k) => key.startsWith(k.key) && k.owner === user).length, 1);
    await until("the button enabled again", () => !body.querySelector("#ssh-add-bitbucket")!.disabled);

    body.querySelector("#ssh-add-bitbucket")!.click();
    await until("already there", () => /already on your Bitbucket account/.test(text(body, "#ssh-result")));

    const other = page(key);
    run(other.body, { sub: `{${randomUUID()}}` });
    other.body.querySelector("#ssh-add-bitbucket")!.click();
    await until("an error", () => /another account/.test(text(other.body, "#ssh-result")));
    assert.match(other.body.querySelector("#ssh-result")!.className, /configure-error/);
  });

  it("adds, updates and deletes variables through the API and redraws the table; secured values show as ••••", async () => {
    const { body, form, app } = page("");
    run(body);
    const status = () => form.querySelector(".configure-result")!.textContent;
    const rows = () => app.querySelectorAll("tr").filter((r) => r.getAttribute("data-name"));
    const submit = (name: string, value: string, secured: boolean) => {
      form.elements.name.value = name;
      form.elements.value.value = value;
      form.elements.secured.checked = secured;
      form.fire("submit");
    };

    submit("REGION", "eu-west-1", false);
    await until("REGION listed", () => rows().some((r) => r.getAttribute("data-name") === "REGION"));
    assert.match(status(), /Saved REGION\./);
    submit("API_TOKEN", "tok-very-secret", true);
    await until("API_TOKEN listed", () => rows().length === 2);
    const secured = rows().find((r) => r.getAttribute("data-name") === "API_TOKEN")!;
    assert.equal(secured.children[1].textContent, "••••");
    assert.ok(!app.textContent.includes("tok-very-secret"));

    rows().find((r) => r.getAttribute("data-name") === "REGION")!.querySelector('[data-action="edit"]')!.click();
    assert.equal(form.elements.name.value, "REGION");
    assert.equal(form.elements.value.value, "eu-west-1");
    form.elements.value.value = "us-east-1";
    form.fire("submit");
    await until("REGION updated", () => rows().some((r) => r.textContent.includes("us-east-1")));

    rows().find((r) => r.getAttribute("data-name") === "REGION")!.querySelector('[data-action="delete"]')!.click();
    await until("REGION deleted", () => rows().length === 1);
    assert.match(status(), /Deleted REGION\./);
    const stored = await server.storage.models.ApplicationVariable.findAll({ where: { applicationId: w.applicationId } });
    assert.deepEqual(stored.map((v) => [v.name, v.secured]), [["API_TOKEN", true]]);

    submit("BITBUCKET_X", "1", false);
    await until("the API's refusal", () => /BITBUCKET_/.test(status()));
  });

  it("the switches and the branch filter are saved through the API, and the form shows what was stored", async () => {
    const { body, settings } = page("");
    run(body);
    const status = () => settings.querySelector(".configure-result")!.textContent;
    const save = (autoBuild: boolean, autoCancel: boolean, filter: string) => {
      settings.elements.autoBuild.checked = autoBuild;
      settings.elements.autoCancel.checked = autoCancel;
      settings.elements.branchFilter.value = filter;
      settings.fire("submit");
    };
    save(true, false, " release/* ");
    await until("saved", () => /^Saved: pushes to release\/\* are built, superseded builds run on\.$/.test(status()));
    assert.equal(settings.elements.branchFilter.value, "release/*");
    let app = await server.storage.models.Application.findByPk(w.applicationId);
    assert.deepEqual([app?.autoBuild, app?.autoCancel, app?.branchFilter], [true, false, "release/*"]);

    save(false, true, "");
    await until("saved again", () => /^Saved: pushes are not built, superseded builds stop\.$/.test(status()));
    app = await server.storage.models.Application.findByPk(w.applicationId);
    assert.deepEqual([app?.autoBuild, app?.autoCancel, app?.branchFilter], [false, true, null]);
    save(true, true, "x".repeat(300));
    await until("the API's refusal", () => /branchFilter must be a branch glob/.test(status()));
    assert.match(settings.querySelector(".configure-result")!.className, /configure-error/);
    await server.storage.models.Application.update({ autoBuild: true, autoCancel: true }, { where: { id: w.applicationId } });
  });

  it("outside Bitbucket (no AP) the buttons say the page must be opened inside Bitbucket", async () => {
    const { body } = page("ssh-ed25519 AAAA");
    run(body, { withAp: false });
    body.querySelector("#ssh-add-bitbucket")!.click();
    await until("the notice", () => !body.querySelector("#configure-no-host")!.hidden);
    await until("the message", () => /opened inside Bitbucket/.test(text(body, "#ssh-result")));
  });
});
