import { generateKeyPairSync } from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import type net from "node:net";
import os from "node:os";
import path from "node:path";
import { createApiHandler } from "./api-server";
import type { SenderContext } from "./connect-sender";
import { FailureInjector, type FailureHandle } from "./failures";
import { gitEnvironment, GitRunner } from "./git-exec";
import { GitRepos } from "./git-repos";
import { bracedUuid } from "./ids";
import { install, uninstall } from "./lifecycle";
import { pullRequestData, pushData, type PayloadContext } from "./payloads";
import type { ServerContext } from "./server-context";
import { storeLfsObject } from "./lfs";
import { createSiteHandler } from "./site-server";
import { State, type Developer, type HookRecord, type RepositoryPermission, type RepositoryRecord, type SshKeyRecord } from "./state";
import { TokenStore } from "./tokens";
import type {
  BitbucketCloudOptions,
  CommitOptions,
  CommitResult,
  FailureRule,
  GitCall,
  InstallOptions,
  InstallResult,
  PullRequestEvent,
  PullRequestSpec,
  PushChangeSpec,
  RecordedCall,
  RepoRef,
  SignWith,
  StatusRecord,
  UninstallResult,
  WebhookDelivery,
  WebhookOptions,
} from "./types";
import { sendWebhook } from "./webhooks";
import { createOAuthStandin, type OAuthStandin } from "./oauth";

export type * from "./types";
export type { FailureHandle } from "./failures";
export type { HookRecord, SshKeyRecord } from "./state";

/**
 * A Bitbucket Cloud stand-in: two real HTTP servers on 127.0.0.1, the site (`siteUrl`, plays
 * https://bitbucket.org: JWT grant and git smart HTTP) and the API (`apiUrl`, plays https://api.bitbucket.org),
 * plus the Connect side that installs into an app and sends it webhooks the way Bitbucket does.
 */
export interface BitbucketCloud {
  readonly siteUrl: string;
  readonly apiUrl: string;
  /** Every call the app made to the site (token endpoint) and the API, in order. */
  readonly calls: RecordedCall[];
  /** Every git smart-HTTP request (never the token). */
  readonly gitCalls: GitCall[];
  /** The OAuth consumer side: users, authorize and token endpoints, plain signed webhooks (oauth.ts). */
  readonly oauth: OAuthStandin;
  /** The person who pushes, and whom the host pages' context tokens name (`sub` = their account id). */
  readonly developer: Readonly<Developer>;

  // --- Connect lifecycle and webhooks ---------------------------------------------------------------
  install(appBaseUrl: string, opts?: InstallOptions): Promise<InstallResult>;
  uninstall(appBaseUrl: string, clientKey: string, opts?: { signWith?: SignWith }): Promise<UninstallResult>;
  sendWebhook(appBaseUrl: string, clientKey: string, event: string, data: unknown, opts?: WebhookOptions): Promise<WebhookDelivery>;
  /** The `data` of a repo:push for a repository of the stand-in. */
  pushPayload(repo: RepoRef | string, changes: PushChangeSpec[]): Record<string, unknown>;
  /** The `data` of a pullrequest:* event (commit hashes cut to 12 characters). */
  pullRequestPayload(repo: RepoRef | string, pr: PullRequestSpec, event?: PullRequestEvent): Record<string, unknown>;
  /** Stores a pull request so GET …/pullrequests/{id} answers it. */
  savePullRequest(workspace: string, slug: string, pr: PullRequestSpec): void;
  /** Saves the pull request (state from the event) and sends the event. */
  sendPullRequest(
    appBaseUrl: string,
    clientKey: string,
    workspace: string,
    slug: string,
    pr: PullRequestSpec,
    event: PullRequestEvent,
    opts?: WebhookOptions,
  ): Promise<WebhookDelivery>;

  // --- Repositories and git --------------------------------------------------------------------------
  createRepository(workspace: string, slug: string, opts?: { mainBranch?: string; description?: string; isPrivate?: boolean }): Promise<RepoRef>;
  /** Commits through a temporary clone with real git (fixed author) and pushes it to the bare repository. */
  commit(workspace: string, slug: string, opts: CommitOptions): Promise<CommitResult>;
  /** Commits, then sends repo:push built from the real commit (old = previous head, new = the commit; plus the tag). */
  pushAndNotify(
    appBaseUrl: string,
    clientKey: string,
    workspace: string,
    slug: string,
    opts: CommitOptions,
    webhook?: WebhookOptions,
  ): Promise<{ commit: CommitResult; delivery: WebhookDelivery }>;
  /** Deletes a branch and sends the repo:push that says so (new = null, closed = true). */
  deleteBranchAndNotify(appBaseUrl: string, clientKey: string, workspace: string, slug: string, branch: string, webhook?: WebhookOptions): Promise<WebhookDelivery>;
  /** Full hash of a revision (full/short hash, branch, tag), or null. */
  resolveCommit(workspace: string, slug: string, rev: string): Promise<string | null>;
  /** `${siteUrl}/{workspace}/{slug}.git`. */
  cloneUrl(workspace: string, slug: string): string;
  /** The bare repository on disk (to seed a large history with git directly, as a benchmark does). */
  gitDir(workspace: string, slug: string): string;
  /** Stores a Git LFS object for the repository (served at `….git/info/lfs/`); commit its `pointer` as the file. */
  addLfsObject(workspace: string, slug: string, content: Buffer | string): { oid: string; size: number; pointer: string };
  /** The uuid "{…}" of a repository. */
  repositoryUuid(workspace: string, slug: string): string;
  /** The uuid "{…}" of a workspace (created on first use). */
  workspaceUuid(workspace: string): string;

  /**
   * Gives `accountId` a permission on the repository (`none` takes it away): what Bitbucket answers when asked whether
   * that person administers it. The pushing developer is admin unless changed here.
   */
  setRepositoryPermission(workspace: string, slug: string, accountId: string, permission: RepositoryPermission): void;

  // --- Auth -------------------------------------------------------------------------------------------
  /** Overrides the scopes granted to a workspace's installations (null: back to the descriptor's). */
  grantScopes(workspace: string, scopes: string[] | null): void;
  /** Issues an access token directly (what the JWT grant would give), for tests that only need git. */
  issueAccessToken(clientKey: string): string;
  /**
   * A Forge app installed in a workspace (the Forge stand-in's): its Forge scopes become what this API checks
   * (read:repository:bitbucket → repository, read:pullrequest:bitbucket → pullrequest; Forge scopes imply nothing else).
   */
  addForgeInstall(clientKey: string, workspace: string, forgeScopes: string[]): void;
  /** Makes `value` (the Forge app's system token) an access token of that installation until `expiresAt` (ms). */
  acceptToken(value: string, clientKey: string, expiresAt: number): void;
  expireTokens(): void;
  revokeAll(clientKey: string): void;
  /** The current shared secret of an installation (what the app received last), for tests. */
  currentSecret(clientKey: string): string | undefined;

  // --- Failure injection and inspection --------------------------------------------------------------
  failNext(rule: FailureRule): FailureHandle;
  clearFailures(): void;
  /** Latest build status per key on a commit (or on every commit when omitted). */
  statuses(workspace: string, slug: string, commit?: string): StatusRecord[];
  /** Every status ever posted to the repository, in order. */
  statusHistory(workspace: string, slug: string): StatusRecord[];
  hooks(workspace: string, slug: string): HookRecord[];
  sshKeys(): SshKeyRecord[];

  stop(): Promise<void>;
}

function listen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function splitRef(repo: RepoRef | string): RepoRef {
  if (typeof repo !== "string") return repo;
  const [workspace, slug] = repo.split("/");
  if (!workspace || !slug) throw new Error(`a repository is "workspace/slug", not "${repo}"`);
  return { workspace, slug };
}

export async function startBitbucketCloud(opts: BitbucketCloudOptions = {}): Promise<BitbucketCloud> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "bitbucket-standin-"));
  const [reposDir, scratch, home] = ["repos", "scratch", "home"].map((d) => path.join(tmp, d));
  await Promise.all([reposDir, scratch, home].map((d) => fs.mkdir(d, { recursive: true })));

  const state = new State();
  const tokens = new TokenStore();
  const failures = new FailureInjector();
  const git = new GitRunner(gitEnvironment(home));
  const repos = new GitRepos(git, reposDir, scratch);
  const inflight = new Set<http.ClientRequest>();
  const tokenTtlSeconds = opts.tokenTtlSeconds ?? 3600;
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
  let stopped = false;
  const sender: SenderContext = {
    state,
    tokens,
    inflight,
    publicKey: publicKey.export({ type: "spki", format: "der" }).toString("base64"),
    webhookRetryDelayMs: opts.webhookRetryDelayMs ?? 100,
    stopped: () => stopped,
  };
  const serverCtx: ServerContext = { state, tokens, failures, git, repos, tokenTtlSeconds };

  const siteServer = http.createServer(createSiteHandler(serverCtx));
  const apiServer = http.createServer(createApiHandler(serverCtx));
  try {
    const sitePort = await listen(siteServer, opts.sitePort ?? 0);
    const apiPort = await listen(apiServer, opts.apiPort ?? 0);
    state.urls.site = `http://127.0.0.1:${sitePort}`;
    state.urls.api = `http://127.0.0.1:${apiPort}`;
  } catch (err) {
    await Promise.all([closeServer(siteServer), closeServer(apiServer)]);
    await fs.rm(tmp, { recursive: true, force: true });
    throw err;
  }

  const payloadContext = (ref: RepoRef | string): PayloadContext => {
    const { workspace, slug } = splitRef(ref);
    const repo = state.repository(workspace, slug);
    return { urls: state.urls, dev: state.developer, ws: state.workspace(repo.workspace), repo };
  };
  const repoOf = (workspace: string, slug: string): RepositoryRecord => state.repository(workspace, slug);

  const cloud: BitbucketCloud = {
    siteUrl: state.urls.site,
    apiUrl: state.urls.api,
    calls: state.calls,
    gitCalls: state.gitCalls,
    oauth: createOAuthStandin(state, repos, tokens, inflight),
    developer: state.developer,

    install: (appBaseUrl, o) => install(sender, appBaseUrl, o),
    uninstall: (appBaseUrl, clientKey, o) => uninstall(sender, appBaseUrl, clientKey, o),
    sendWebhook: (appBaseUrl, clientKey, event, data, o) => sendWebhook(sender, appBaseUrl, clientKey, event, data, o),
    pushPayload: (repo, changes) => pushData(payloadContext(repo), changes),
    pullRequestPayload: (repo, pr, event = "pullrequest:created") => {
      const ctx = payloadContext(repo);
      const src = pr.source.repository ? state.findRepository(pr.source.repository.workspace, pr.source.repository.slug) : undefined;
      return pullRequestData(ctx, pr, event, src);
    },
    savePullRequest: (workspace, slug, pr) => {
      repoOf(workspace, slug).pullRequests.set(pr.id, { ...pr });
    },
    async sendPullRequest(appBaseUrl, clientKey, workspace, slug, pr, event, o) {
      const state_ = pr.state ?? (event === "pullrequest:fulfilled" ? "MERGED" : event === "pullrequest:rejected" ? "DECLINED" : "OPEN");
      cloud.savePullRequest(workspace, slug, { ...pr, state: state_ });
      return cloud.sendWebhook(appBaseUrl, clientKey, event, cloud.pullRequestPayload({ workspace, slug }, pr, event), o);
    },

    setRepositoryPermission(workspace, slug, accountId, permission) {
      repoOf(workspace, slug).permissions.set(accountId, permission);
    },

    async createRepository(workspace, slug, o = {}) {
      const ws = state.workspace(workspace);
      if (!/^[a-z0-9][a-z0-9._-]*$/.test(slug)) throw new Error(`"${slug}" is not a valid repository slug`);
      if (state.findRepository(ws.slug, slug)) throw new Error(`repository ${ws.slug}/${slug} already exists`);
      const mainBranch = o.mainBranch ?? "main";
      const gitDir = repos.gitDir(ws.slug, slug);
      const record: RepositoryRecord = {
        workspace: ws.slug,
        slug,
        uuid: bracedUuid(),
        name: slug,
        description: o.description ?? "",
        mainBranch,
        isPrivate: o.isPrivate ?? true,
        createdOn: new Date().toISOString(),
        gitDir,
        pullRequests: new Map(),
        statuses: new Map(),
        statusHistory: [],
        hooks: new Map(),
        permissions: new Map(),
      };
      state.repositories.set(`${ws.slug}/${slug}`, record);
      try {
        await repos.init(gitDir, mainBranch);
      } catch (err) {
        state.repositories.delete(`${ws.slug}/${slug}`);
        throw err;
      }
      return { workspace: ws.slug, slug };
    },
    commit: (workspace, slug, o) => {
      const repo = repoOf(workspace, slug);
      return repos.commit(repo.gitDir, repo.mainBranch, o);
    },
    async pushAndNotify(appBaseUrl, clientKey, workspace, slug, o, webhook) {
      const repo = repoOf(workspace, slug);
      const commit = await repos.commit(repo.gitDir, repo.mainBranch, o);
      const head = await repos.commitInfo(repo.gitDir, commit.hash);
      const old = commit.previous ? await repos.commitInfo(repo.gitDir, commit.previous) : null;
      const changes: PushChangeSpec[] = [{ type: "branch", name: commit.branch, old, new: head, commits: [head] }];
      if (commit.tag) changes.push({ type: "tag", name: commit.tag, old: null, new: head, commits: [] });
      const data = pushData(payloadContext({ workspace, slug }), changes);
      const delivery = await sendWebhook(sender, appBaseUrl, clientKey, "repo:push", data, webhook);
      return { commit, delivery };
    },
    async deleteBranchAndNotify(appBaseUrl, clientKey, workspace, slug, branch, webhook) {
      const repo = repoOf(workspace, slug);
      const head = await repos.deleteBranch(repo.gitDir, branch);
      if (!head) throw new Error(`no branch ${branch} in ${workspace}/${slug}`);
      const old = await repos.commitInfo(repo.gitDir, head);
      const data = pushData(payloadContext({ workspace, slug }), [{ type: "branch", name: branch, old, new: null, commits: [] }]);
      return sendWebhook(sender, appBaseUrl, clientKey, "repo:push", data, webhook);
    },
    resolveCommit: (workspace, slug, rev) => repos.resolve(repoOf(workspace, slug).gitDir, rev),
    cloneUrl: (workspace, slug) => `${state.urls.site}/${workspace}/${slug}.git`,
    gitDir: (workspace, slug) => repoOf(workspace, slug).gitDir,
    addLfsObject: (workspace, slug, content) => storeLfsObject(repoOf(workspace, slug).gitDir, content),
    workspaceUuid: (workspace) => state.workspace(workspace).uuid,

    grantScopes(workspace, scopes) {
      if (scopes === null) state.grantedScopes.delete(workspace);
      else state.grantedScopes.set(workspace, [...scopes]);
    },
    issueAccessToken(clientKey) {
      const inst = state.install(clientKey);
      return tokens.issue(clientKey, inst.workspace, state.scopesOf(inst), tokenTtlSeconds).value;
    },
    repositoryUuid: (workspace, slug) => repoOf(workspace, slug).uuid,
    addForgeInstall(clientKey, workspace, forgeScopes) {
      state.workspace(workspace);
      const FORGE_SCOPES: Record<string, string> = { "read:repository:bitbucket": "repository", "read:pullrequest:bitbucket": "pullrequest" };
      const scopes = forgeScopes.map((s) => FORGE_SCOPES[s]).filter((s): s is string => !!s);
      state.installs.set(clientKey, { clientKey, appKey: "forge", workspace, appBaseUrl: "", descriptor: { key: "forge", scopes }, secrets: [], installed: true, hookUuids: new Map() });
      state.grantedScopes.delete(workspace);
    },
    acceptToken(value, clientKey, expiresAt) {
      const inst = state.install(clientKey);
      tokens.register(value, { clientKey, workspace: inst.workspace, scopes: state.scopesOf(inst), expiresAt, revoked: false });
    },
    expireTokens: () => tokens.expireAll(),
    revokeAll: (clientKey) => tokens.revokeAll(clientKey),
    currentSecret: (clientKey) => state.installs.get(clientKey)?.secrets.at(-1),

    failNext: (rule) => failures.add(rule),
    clearFailures: () => failures.clear(),
    statuses(workspace, slug, commit) {
      const repo = repoOf(workspace, slug);
      const maps = commit ? [repo.statuses.get(commit)] : [...repo.statuses.values()];
      return maps.flatMap((m) => [...(m?.values() ?? [])]);
    },
    statusHistory: (workspace, slug) => [...repoOf(workspace, slug).statusHistory],
    hooks: (workspace, slug) => [...repoOf(workspace, slug).hooks.values()],
    sshKeys: () => [...state.sshKeys.values()],

    async stop() {
      if (stopped) return;
      stopped = true;
      failures.releaseHung();
      for (const req of inflight) req.destroy();
      inflight.clear();
      git.killAll();
      await Promise.all([closeServer(siteServer), closeServer(apiServer)]);
      await fs.rm(tmp, { recursive: true, force: true, maxRetries: 3 });
    },
  };
  return cloud;
}
