import { randomUUID } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { GitRunner, gitEnvironment } from "../cloud/git-exec";
import { GitRepos } from "../cloud/git-repos";
import { serveGitHttp } from "../cloud/git-backend";
import { hubSignature } from "../../../src/intake/verify-hub-signature";
import { StandinSshd } from "./sshd";

/**
 * A Bitbucket Server / Data Center stand-in: a real HTTP server for the REST calls Pipelines makes (every call
 * recorded), git over HTTP (`/scm/<project>/<repo>.git`, through `git http-backend`) and over SSH (a real sshd on
 * 127.0.0.1, see sshd.ts), and a webhook sender that signs deliveries the way Server does
 * (`X-Hub-Signature: sha256=<HMAC-SHA256 of the body with the webhook's secret>`).
 */

export interface ServerCall {
  method: string;
  path: string;
  query: string;
  auth: "basic" | "bearer" | null;
  body: unknown;
  status: number;
}

export interface ServerHook {
  id: number;
  repository: string;
  url: string;
  events: string[];
  secret: string;
  active: boolean;
}

export interface StandinUser {
  password?: string;
  token?: string;
  /** The user exists but may not use the REST API (403). */
  forbidden?: boolean;
  /** The repositories (`PROJECT/slug`) the user may read, for `/rest/api/1.0/repos?permission=REPO_READ`; all when absent. */
  reads?: string[];
  /** The repositories the user administers, for `/rest/api/1.0/repos?permission=REPO_ADMIN`; none when absent. */
  admins?: string[];
}

export interface StartOptions {
  /** Start sshd too (default true). */
  ssh?: boolean;
  /** Answer 404 on the new build-status API (a server before 7.4): statuses go to the legacy one. */
  legacyBuildStatusOnly?: boolean;
}

export interface DeliveryResult {
  status: number;
  text: string;
  deliveryId: string;
}

/** One change of a `repo:refs_changed` body, as Server sends it. */
export interface RefChange {
  type: "BRANCH" | "TAG";
  name: string;
  /** The ref's old value, null when it is created. */
  from: string | null;
  /** The ref's new value (for an annotated tag: the tag object's id), null when it is deleted. */
  to: string | null;
}

/** A pull request as the stand-in describes it in `pr:*` bodies. */
export interface StandinPullRequest {
  id: number;
  title: string;
  description?: string;
  /** The source: a branch (`refs/heads/…`) or, as Server allows, a tag (`refs/tags/…`), and its head commit. */
  from: { ref: string; commit: string };
  to: { branch: string; commit: string };
}

const ZERO = "0".repeat(40);

export class BitbucketServerStandin {
  readonly calls: ServerCall[] = [];
  readonly hooks: ServerHook[] = [];
  /** Every build status posted: latest last. */
  readonly statuses: { api: "latest" | "legacy"; repository: string | null; commit: string; body: Record<string, unknown> }[] = [];
  readonly users = new Map<string, StandinUser>();
  readonly git: GitRunner;
  readonly repos: GitRepos;
  readonly root: string;
  sshd: StandinSshd | null = null;
  url = "";
  private server: http.Server | null = null;
  private nextHookId = 1;
  private readonly known = new Set<string>();
  /** Repositories as created ("PROJ/slug"), in order. */
  private readonly repositories: string[] = [];
  /** SSH keys added through /rest/ssh/1.0/keys, with the user they were added to. */
  readonly sshKeys: { id: number; user: string; text: string; label: string | null }[] = [];
  /** Answers to give instead of the real ones: the next `times` calls whose path matches get `status`. */
  private readonly failures: { method: string; path: RegExp; status: number; times: number }[] = [];

  constructor(private readonly opts: StartOptions = {}) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), "standin-server-"));
    fs.mkdirSync(path.join(this.root, "repos"));
    fs.mkdirSync(path.join(this.root, "scratch"));
    fs.mkdirSync(path.join(this.root, "home"));
    this.git = new GitRunner(gitEnvironment(path.join(this.root, "home")));
    this.repos = new GitRepos(this.git, path.join(this.root, "repos"), path.join(this.root, "scratch"));
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server?.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    if (this.opts.ssh !== false) {
      this.sshd = new StandinSshd(path.join(this.root, "repos"));
      await this.sshd.start();
    }
    return this;
  }

  async stop(): Promise<void> {
    await this.sshd?.stop();
    await new Promise((r) => (this.server ? this.server.close(r) : r(undefined)));
    this.server?.closeAllConnections();
    this.git.killAll();
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  private gitDir(repository: string): string {
    const [key, slug] = repository.split("/");
    return this.repos.gitDir(key.toLowerCase(), slug);
  }

  async createRepository(repository: string): Promise<void> {
    await this.repos.init(this.gitDir(repository), "main");
    this.known.add(repository.toUpperCase());
    this.repositories.push(repository);
  }

  async commit(repository: string, files: Record<string, string>, branch = "main", message?: string) {
    return this.repos.commit(this.gitDir(repository), "main", { files, branch, message });
  }

  /** Commits, then delivers `repo:refs_changed` to every active webhook of the repository, signed with its secret. */
  async pushAndNotify(repository: string, files: Record<string, string>, branch = "main", message = "Update") {
    const c = await this.commit(repository, files, branch, message);
    const body = this.refsChangedBody(repository, [{ type: "BRANCH", name: branch, from: c.previous, to: c.hash }], { id: c.hash, message: c.message });
    const deliveries = await this.deliver(repository, "repo:refs_changed", JSON.stringify(body));
    return { commit: c, deliveries };
  }

  /**
   * Makes (or moves) tag `name` at `at` (a commit; default the head of main) with real git: annotated when a
   * `message` is given, lightweight otherwise. Returns what the ref holds now (`object`: the tag object's id for an
   * annotated tag, the commit for a lightweight one), the commit it tags, and what it held before.
   */
  async tag(repository: string, name: string, opts: { at?: string; message?: string } = {}) {
    const gitDir = this.gitDir(repository);
    const commit = await this.repos.resolve(gitDir, opts.at ?? "refs/heads/main");
    if (!commit) throw new Error(`no commit ${opts.at ?? "main"} in ${repository}`);
    const previous = await this.refValue(gitDir, `refs/tags/${name}`);
    const who = { GIT_COMMITTER_NAME: "Stand-in Developer", GIT_COMMITTER_EMAIL: "developer@standin.example" };
    if (opts.message === undefined) await this.git.out(["update-ref", `refs/tags/${name}`, commit], gitDir);
    else await this.git.out(["tag", "--force", "--annotate", "--message", opts.message, "--", name, commit], gitDir, who);
    const object = await this.refValue(gitDir, `refs/tags/${name}`);
    if (!object) throw new Error(`tag ${name} was not made`);
    return { object, commit, previous };
  }

  /**
   * Tags (see {@link tag}), then delivers `repo:refs_changed` for it as Server does: the change's `toHash` is the
   * ref's new value — for an annotated tag the tag object's id. `toCommit` is sent only when that value is a
   * commit (a lightweight tag): what Server puts there for an annotated tag is not documented, so the stand-in does
   * not pretend to know.
   */
  async tagAndNotify(repository: string, name: string, opts: { at?: string; message?: string } = {}) {
    const t = await this.tag(repository, name, opts);
    const head = t.object === t.commit ? { id: t.commit, message: (await this.repos.commitInfo(this.gitDir(repository), t.commit)).message } : undefined;
    const body = this.refsChangedBody(repository, [{ type: "TAG", name, from: t.previous, to: t.object }], head);
    const deliveries = await this.deliver(repository, "repo:refs_changed", JSON.stringify(body));
    return { tag: t, deliveries };
  }

  /** A `repo:refs_changed` body for `changes`, shaped like Server's (with `toCommit` when given). */
  refsChangedBody(repository: string, changes: RefChange[], toCommit?: { id: string; message: string }) {
    return {
      eventKey: "repo:refs_changed",
      date: new Date().toISOString(),
      actor: { name: "admin", displayName: "Administrator", slug: "admin", type: "NORMAL" },
      repository: this.repositoryJson(repository),
      changes: changes.map((c) => {
        const refId = `refs/${c.type === "TAG" ? "tags" : "heads"}/${c.name}`;
        const type = c.to === null ? "DELETE" : c.from === null ? "ADD" : "UPDATE";
        return { ref: { id: refId, displayId: c.name, type: c.type }, refId, fromHash: c.from ?? ZERO, toHash: c.to ?? ZERO, type };
      }),
      ...(toCommit ? { toCommit: { id: toCommit.id, displayId: toCommit.id.slice(0, 11), message: toCommit.message.replace(/\n+$/, "") } } : {}),
    };
  }

  /**
   * A `pr:*` body shaped like Server's (see the fixtures pr_opened.json, pr_modified_toref.json). A `pr:modified`
   * carries `previousTitle`, `previousDescription` and `previousTarget` (unchanged ones repeat the current value).
   */
  pullRequestBody(eventKey: string, repository: string, pr: StandinPullRequest, previous: { title?: string; description?: string } = {}) {
    const fromTag = pr.from.ref.startsWith("refs/tags/");
    const displayId = pr.from.ref.replace(/^refs\/(heads|tags)\//, "");
    const toRef = { id: `refs/heads/${pr.to.branch}`, displayId: pr.to.branch, latestCommit: pr.to.commit, type: "BRANCH", repository: this.repositoryJson(repository) };
    const body: Record<string, unknown> = {
      eventKey,
      date: new Date().toISOString(),
      actor: { name: "admin", displayName: "Administrator", slug: "admin", type: "NORMAL" },
      pullRequest: {
        id: pr.id,
        version: 0,
        title: pr.title,
        description: pr.description ?? "",
        state: eventKey === "pr:merged" ? "MERGED" : eventKey === "pr:declined" ? "DECLINED" : "OPEN",
        open: !["pr:merged", "pr:declined", "pr:deleted"].includes(eventKey),
        closed: ["pr:merged", "pr:declined"].includes(eventKey),
        fromRef: { id: pr.from.ref, displayId, latestCommit: pr.from.commit, type: fromTag ? "TAG" : "BRANCH", repository: this.repositoryJson(repository) },
        toRef,
        locked: false,
        reviewers: [],
        participants: [],
      },
    };
    if (eventKey === "pr:modified") {
      body.previousTitle = previous.title ?? pr.title;
      body.previousDescription = previous.description ?? pr.description ?? "";
      body.previousTarget = { id: toRef.id, displayId: toRef.displayId, type: "BRANCH", latestCommit: pr.to.commit, latestChangeset: pr.to.commit };
    }
    return body;
  }

  /** Delivers a `pr:*` event for `pr` to the repository's webhooks. */
  notifyPullRequest(repository: string, eventKey: string, pr: StandinPullRequest, previous: { title?: string; description?: string } = {}) {
    return this.deliver(repository, eventKey, JSON.stringify(this.pullRequestBody(eventKey, repository, pr, previous)));
  }

  /** The next `times` calls of `method` whose path matches `path` are answered `status` (a Server error body). */
  failNext(method: string, path: RegExp, status: number, times = 1): void {
    this.failures.push({ method, path, status, times });
  }

  private repositoryJson(repository: string) {
    const [key, slug] = repository.split("/");
    return { slug, id: 1, name: slug, scmId: "git", state: "AVAILABLE", project: { key, id: 1, name: key, type: "NORMAL" } };
  }

  /** What a ref holds (a commit, or a tag object), or null. */
  private async refValue(gitDir: string, ref: string): Promise<string | null> {
    const r = await this.git.run(["rev-parse", "--verify", "--quiet", ref], { cwd: gitDir });
    return r.code === 0 ? r.stdout.toString("utf8").trim() : null;
  }

  /** Sends `raw` to every active webhook of `repository` subscribed to `eventKey`, as Server does. */
  async deliver(repository: string, eventKey: string, raw: string, opts: { deliveryId?: string; signature?: string | null } = {}): Promise<DeliveryResult[]> {
    const out: DeliveryResult[] = [];
    for (const hook of this.hooks.filter((h) => h.repository === repository && h.active && (h.events.includes(eventKey) || eventKey === "diagnostics:ping"))) {
      const deliveryId = opts.deliveryId ?? randomUUID();
      const headers: Record<string, string> = { "Content-Type": "application/json; charset=utf-8", "X-Event-Key": eventKey, "X-Request-Id": deliveryId };
      const signature = opts.signature === undefined ? hubSignature(raw, hook.secret) : opts.signature;
      if (signature !== null) headers["X-Hub-Signature"] = signature;
      const res = await fetch(hook.url, { method: "POST", headers, body: raw });
      out.push({ status: res.status, text: await res.text(), deliveryId });
    }
    return out;
  }

  statusesOf(commit: string) {
    return this.statuses.filter((s) => s.commit === commit);
  }

  private authOf(req: http.IncomingMessage): { kind: "basic" | "bearer" | null; user: string | null; bad: boolean } {
    const h = req.headers.authorization ?? "";
    const basic = /^Basic (.+)$/.exec(h);
    if (basic) {
      const [user, ...rest] = Buffer.from(basic[1], "base64").toString("utf8").split(":");
      const u = this.users.get(user);
      return { kind: "basic", user, bad: !u?.password || u.password !== rest.join(":") };
    }
    const bearer = /^Bearer (.+)$/.exec(h);
    if (bearer) {
      const found = [...this.users.entries()].find(([, u]) => u.token === bearer[1]);
      return { kind: "bearer", user: found?.[0] ?? null, bad: !found };
    }
    return { kind: null, user: null, bad: false };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const u = new URL(req.url ?? "/", "http://x");
    const chunks: Buffer[] = [];
    const isGit = u.pathname.startsWith("/scm/");
    if (!isGit) for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: unknown = text || undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      /* raw */
    }
    const auth = this.authOf(req);
    const call: ServerCall = { method: req.method ?? "GET", path: u.pathname, query: u.search.slice(1), auth: auth.kind, body, status: 0 };
    this.calls.push(call);
    const send = (status: number, payload?: unknown, type = "application/json") => {
      call.status = status;
      // Like Server, an authenticated answer names its user.
      if (auth.user && !auth.bad) res.setHeader("X-AUSERNAME", auth.user);
      res.writeHead(status, payload === undefined ? {} : { "Content-Type": type });
      res.end(payload === undefined ? undefined : typeof payload === "string" && type !== "application/json" ? payload : JSON.stringify(payload));
    };
    const error = (status: number, message: string) => send(status, { errors: [{ message }] });
    // Server refuses a request with bad credentials even on anonymous-readable resources.
    if (auth.bad) return error(401, "Authentication failed. Please check your credentials and try again.");
    const failure = this.failures.find((f) => f.times > 0 && f.method === call.method && f.path.test(u.pathname));
    if (failure) {
      failure.times--;
      return error(failure.status, `the stand-in was told to answer ${failure.status}`);
    }
    const m = (re: RegExp) => re.exec(u.pathname);
    let r: RegExpExecArray | null;

    if (isGit) {
      if (!auth.user) {
        call.status = 401;
        res.writeHead(401, { "WWW-Authenticate": 'Basic realm="Bitbucket"' });
        res.end();
        return;
      }
      call.status = 200;
      return serveGitHttp(this.git, path.join(this.root, "repos"), req, res, u.pathname.slice("/scm".length), u.search.slice(1), auth.user);
    }
    if (req.method === "GET" && u.pathname === "/rest/api/1.0/application-properties") return send(200, { version: "8.19.0", buildNumber: "8019000", displayName: "Bitbucket" });
    if (!auth.user) return error(401, "You are not permitted to access this resource");
    if (this.users.get(auth.user)?.forbidden) return error(403, `${auth.user} does not have permission to access this resource`);
    if (req.method === "GET" && (r = m(/^\/rest\/api\/1\.0\/users\/([^/]+)$/))) {
      const name = decodeURIComponent(r[1]);
      return this.users.has(name) ? send(200, { name, slug: name, displayName: `The ${name}`, active: true, type: "NORMAL" }) : error(404, `User ${name} does not exist`);
    }
    if (req.method === "GET" && u.pathname === "/rest/api/1.0/repos") {
      // Paged like Server: start, limit, isLastPage, nextPageStart.
      const start = Number(u.searchParams.get("start") ?? 0);
      const limit = Math.min(Number(u.searchParams.get("limit") ?? 25), 1000);
      // `permission=REPO_READ`: only what the calling user may read; `REPO_ADMIN`: only what they administer.
      const permission = u.searchParams.get("permission");
      const reads = permission === "REPO_READ" ? this.users.get(auth.user)?.reads : permission === "REPO_ADMIN" ? (this.users.get(auth.user)?.admins ?? []) : undefined;
      const visible = reads ? this.repositories.filter((full) => reads.some((r) => r.toUpperCase() === full.toUpperCase())) : this.repositories;
      const page = visible.slice(start, start + limit).map((full) => {
        const [key, slug] = full.split("/");
        return { slug, name: slug, project: { key, name: `Project ${key}` }, links: { clone: [{ name: "ssh", href: `ssh://git@127.0.0.1/${key.toLowerCase()}/${slug}.git` }] } };
      });
      const isLastPage = start + limit >= visible.length;
      return send(200, { size: page.length, limit, start, isLastPage, values: page, ...(isLastPage ? {} : { nextPageStart: start + limit }) });
    }
    if (req.method === "POST" && u.pathname === "/rest/ssh/1.0/keys") {
      const b = (body ?? {}) as { text?: unknown; label?: unknown };
      if (typeof b.text !== "string" || !/^ssh-(ed25519|rsa) [A-Za-z0-9+/=]+/.test(b.text)) return error(400, "The key is not a valid SSH public key");
      const blob = b.text.split(" ").slice(0, 2).join(" ");
      if (this.sshKeys.some((k) => k.text.split(" ").slice(0, 2).join(" ") === blob)) return error(409, "This SSH key is already added to an account");
      const key = { id: this.sshKeys.length + 1, user: auth.user, text: b.text, label: typeof b.label === "string" ? b.label : null };
      this.sshKeys.push(key);
      return send(201, { id: key.id, text: key.text, label: key.label });
    }

    if ((r = m(/^\/rest\/(api\/latest|api\/1\.0)\/projects\/([^/]+)\/repos\/([^/]+)(\/.*)?$/))) {
      const repository = `${decodeURIComponent(r[2])}/${decodeURIComponent(r[3])}`;
      if (!this.known.has(repository.toUpperCase())) return error(404, `Repository ${repository} does not exist`);
      const rest = r[4] ?? "";
      const gitDir = this.gitDir(repository);
      if (req.method === "GET" && rest === "") return send(200, { slug: r[3], name: r[3], project: { key: r[2] } });
      if (req.method === "POST" && rest === "/webhooks") {
        const b = body as { url: string; events: string[]; configuration?: { secret?: string }; active?: boolean };
        const hook: ServerHook = { id: this.nextHookId++, repository, url: b.url, events: b.events, secret: b.configuration?.secret ?? "", active: b.active !== false };
        this.hooks.push(hook);
        return send(201, { id: hook.id, name: "hook", url: hook.url, events: hook.events, active: hook.active, configuration: {} });
      }
      if (req.method === "DELETE" && (r = /^\/webhooks\/(\d+)$/.exec(rest))) {
        const i = this.hooks.findIndex((h) => h.id === Number(r?.[1]) && h.repository === repository);
        if (i < 0) return error(404, "no such webhook");
        this.hooks.splice(i, 1);
        return send(204);
      }
      if (req.method === "GET" && (r = /^\/raw\/(.+)$/.exec(rest))) {
        const at = u.searchParams.get("at") ?? "main";
        const content = await this.repos.readPath(gitDir, at, decodeURIComponent(r[1]));
        if (!content || content.type !== "blob") return error(404, "The path does not exist at this revision");
        return send(200, content.content.toString("utf8"), "text/plain");
      }
      if (req.method === "GET" && rest === "/commits") {
        // Server's commit list: `until` and what it has that `since` has not, newest first, paged.
        const until = await this.repos.resolve(gitDir, u.searchParams.get("until") ?? "main");
        const since = u.searchParams.get("since");
        const sinceHash = since ? await this.repos.resolve(gitDir, since) : null;
        if (!until || (since && !sinceHash)) return error(404, "Commit does not exist");
        const listed = await this.git.run(["rev-list", until, ...(sinceHash ? [`^${sinceHash}`] : []), "--"], { cwd: gitDir });
        const ids = listed.stdout.toString("utf8").split("\n").filter(Boolean);
        const start = Number(u.searchParams.get("start") ?? 0);
        const limit = Math.min(Number(u.searchParams.get("limit") ?? 25), 1000);
        const values = ids.slice(start, start + limit).map((id) => ({ id, displayId: id.slice(0, 11) }));
        const isLastPage = start + limit >= ids.length;
        return send(200, { size: values.length, limit, start, isLastPage, values, ...(isLastPage ? {} : { nextPageStart: start + limit }) });
      }
      if (req.method === "GET" && (r = /^\/commits\/([^/]+)$/.exec(rest))) {
        const hash = await this.repos.resolve(gitDir, decodeURIComponent(r[1]));
        if (!hash) return error(404, "Commit does not exist");
        // Server's commit: the message in full (without the trailing newline), author, committer, parents.
        const info = await this.repos.commitInfo(gitDir, hash);
        const person = { name: info.author.name, emailAddress: info.author.email };
        const at = Date.parse(info.date);
        return send(200, {
          id: hash,
          displayId: hash.slice(0, 11),
          author: person,
          authorTimestamp: at,
          committer: person,
          committerTimestamp: at,
          message: info.message.replace(/\n+$/, ""),
          parents: info.parents.map((p) => ({ id: p, displayId: p.slice(0, 11) })),
        });
      }
      if (req.method === "GET" && (r = /^\/tags\/(.+)$/.exec(rest))) {
        // Server's tag: `latestCommit` (and its old name `latestChangeset`) is the commit the tag points at, `hash`
        // the annotated tag object's id, null for a lightweight tag. Names keep their slashes (`tags/{name:.*}`).
        const name = r[1].split("/").map(decodeURIComponent).join("/");
        const object = /^[^-][^\s]*$/.test(name) ? await this.refValue(gitDir, `refs/tags/${name}`) : null;
        const commit = object ? await this.repos.resolve(gitDir, object) : null;
        if (!object || !commit) return error(404, `Tag ${name} does not exist in this repository`);
        return send(200, { id: `refs/tags/${name}`, displayId: name, type: "TAG", latestCommit: commit, latestChangeset: commit, hash: object === commit ? null : object });
      }
      if (req.method === "POST" && (r = /^\/commits\/([0-9a-f]{40})\/builds$/.exec(rest))) {
        if (this.opts.legacyBuildStatusOnly) return error(404, "not found");
        this.statuses.push({ api: "latest", repository, commit: r[1], body: body as Record<string, unknown> });
        return send(204);
      }
    }
    if (req.method === "POST" && (r = m(/^\/rest\/build-status\/1\.0\/commits\/([0-9a-f]{40})$/))) {
      this.statuses.push({ api: "legacy", repository: null, commit: r[1], body: body as Record<string, unknown> });
      return send(204);
    }
    return error(404, `the stand-in does not serve ${req.method} ${u.pathname}`);
  }
}

export async function startBitbucketServer(opts: StartOptions = {}): Promise<BitbucketServerStandin> {
  return new BitbucketServerStandin(opts).start();
}
