/** Public types of the Bitbucket Cloud stand-in. */

export type ServerName = "site" | "api" | "git";
export type AuthKind = "jwt" | "bearer" | "basic";

/** One request the stand-in answered on its site or API server (the app's outgoing calls). */
export interface RecordedCall {
  server: "site" | "api";
  method: string;
  /** The request path without the query (still percent-encoded, as sent). */
  path: string;
  /** The raw query string without "?" ("" when none). */
  query: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, the form fields of a form body, the raw text otherwise; undefined when empty. */
  body: unknown;
  /** 0 while unanswered (e.g. a hung request). */
  status: number;
  /** How the caller authenticated; null when it did not (or the credential was refused before it was recognised). */
  auth: AuthKind | null;
  /** The installation the credential resolved to (also set when the credential was then refused for another reason). */
  clientKey: string | null;
  at: Date;
}

/** One git smart-HTTP request. Never holds a credential's value. */
export interface GitCall {
  method: string;
  /** The path, e.g. "/acme/demo.git/info/refs". */
  path: string;
  /** git-upload-pack / git-receive-pack, when the request names one. */
  service: string | null;
  auth: AuthKind | null;
  clientKey: string | null;
  status: number;
  /** Bytes of the response body sent so far (a fetch's pack: how much the client was sent). */
  responseBytes: number;
  at: Date;
}

export type FailureMode = { status: 500 } | { status: 429; retryAfterSeconds: number } | "hang";

export interface FailureRule {
  /** Only requests with this method (case-insensitive). */
  method?: string;
  /** Only requests whose path (without the query) matches. */
  pathMatch?: RegExp;
  /** Only on this server; default any. */
  server?: ServerName;
  /** How many matching requests fail; default 1. */
  times?: number;
  mode: FailureMode;
}

export type SignWith = "none" | "current" | "previous" | "payload";

export interface InstallOptions {
  /** Workspace slug; default "acme". Its uuid is generated once per stand-in and stays the same. */
  workspace?: string;
  /** How the lifecycle request is signed; default "none" for a first install, else "current". */
  signWith?: SignWith;
  /** Payload fields to drop (to test the app's validation). */
  omit?: string[];
  /** The shared secret to send instead of a new random one. */
  sharedSecret?: string;
}

export interface InstallResult {
  status: number;
  body: string;
  clientKey: string;
  sharedSecret: string;
  workspace: string;
  /** The payload exactly as sent. */
  payload: Record<string, unknown>;
}

export interface UninstallResult {
  status: number;
  body: string;
  clientKey: string;
  payload: Record<string, unknown>;
}

export type JwtSabotage = "none" | "forged" | Record<string, unknown> | string;

export interface WebhookOptions {
  /** Reuse a delivery id (what Bitbucket does on its own retries). */
  requestUuid?: string;
  /** Replace the Authorization header: "none" drops it, "forged" signs with a wrong secret, an object overrides
   * claims (undefined removes one), a string is sent as the token itself. */
  jwt?: JwtSabotage;
  /** Send these bytes instead of the JSON body (the JWT still covers the URL only, as Connect's does). */
  rawBody?: string | Buffer;
  /** Per-attempt timeout; default 10 000 ms. */
  timeoutMs?: number;
  /** Retries after the first attempt on 5xx or connection errors; default 2. */
  retries?: number;
  /** Wait before each retry; default the stand-in's `webhookRetryDelayMs`. */
  retryDelayMs?: number;
  /** Send even though the installation was uninstalled (Bitbucket would not). */
  force?: boolean;
}

export interface WebhookAttempt {
  attempt: number;
  /** 0 when the attempt got no HTTP answer. */
  status: number;
  body: string;
  /** Connection error or timeout. */
  error?: string;
}

export interface WebhookDelivery {
  event: string;
  url: string;
  requestUuid: string;
  hookUuid: string;
  attempts: WebhookAttempt[];
  /** The last attempt's status (0 when it failed to connect). */
  status: number;
  body: string;
}

export interface CommitAuthor {
  name: string;
  email: string;
}

/** A commit as payload builders take it: a hash alone, or what is known of it. */
export interface CommitSpec {
  hash: string;
  message?: string;
  /** ISO 8601. */
  date?: string;
  author?: CommitAuthor;
  parents?: string[];
}

export interface PushChangeSpec {
  type?: "branch" | "tag";
  name: string;
  /** The ref's previous head; null or absent for a created ref. */
  old?: CommitSpec | string | null;
  /** The ref's new head; null for a deleted ref. */
  new?: CommitSpec | string | null;
  forced?: boolean;
  /** Commits pushed (newest first); default [new] for a created or updated ref, [] for a deleted one. */
  commits?: (CommitSpec | string)[];
  truncated?: boolean;
}

export interface RepoRef {
  workspace: string;
  slug: string;
}

export type PullRequestEvent = "pullrequest:created" | "pullrequest:updated" | "pullrequest:fulfilled" | "pullrequest:rejected";

export interface PullRequestSpec {
  id: number;
  title: string;
  description?: string;
  source: { branch: string; commit: string; repository?: RepoRef };
  destination: { branch: string; commit: string };
  /** Default from the event: OPEN, MERGED (fulfilled), DECLINED (rejected). */
  state?: "OPEN" | "MERGED" | "DECLINED" | "SUPERSEDED";
  mergeCommit?: string;
  closeSourceBranch?: boolean;
  createdOn?: string;
  updatedOn?: string;
}

export interface CommitOptions {
  branch?: string;
  /** Path → new content; null deletes the file. */
  files?: Record<string, string | null>;
  message?: string;
  /** Also create this tag on the new commit (lightweight, or annotated with a message). */
  tag?: string | { name: string; message: string };
  /** Branch to start a new branch from; default the repository's main branch. */
  from?: string;
}

export interface CommitResult {
  hash: string;
  shortHash: string;
  branch: string;
  /** The branch head before this commit (null for a new branch). */
  previous: string | null;
  parents: string[];
  message: string;
  date: string;
  author: CommitAuthor;
  tag: string | null;
}

export interface StatusRecord {
  key: string;
  state: "INPROGRESS" | "SUCCESSFUL" | "FAILED" | "STOPPED";
  url: string;
  name: string | null;
  description: string | null;
  refname: string | null;
  commit: string;
  repository: string;
  clientKey: string | null;
  createdOn: string;
  updatedOn: string;
}

export interface BitbucketCloudOptions {
  /** Fixed ports (the dev CLI); default 0 (any free port). */
  sitePort?: number;
  apiPort?: number;
  /** Lifetime of access tokens from the JWT grant; default 3600. */
  tokenTtlSeconds?: number;
  /** Wait before a webhook retry; default 100 ms. */
  webhookRetryDelayMs?: number;
}
