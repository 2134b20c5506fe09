import type { Tenant } from "../db/models";
import type { CallOutcome } from "../http/call-outcome";
import type { ParsedDelivery } from "./events";

/** A commit build status as the engine reports it; each forge maps it onto its own API. */
export interface CommitStatus {
  /** At most 40 characters, stable per application and pipeline. */
  key: string;
  state: "INPROGRESS" | "SUCCESSFUL" | "FAILED" | "STOPPED";
  name: string;
  description: string;
  url: string;
  refname: string | null;
}

/**
 * How a runner fetches a repository: the URL carries no credentials; they travel in `http.extraHeader` only, or —
 * for an `ssh://` URL — as `ssh`: a private key ssh reads from a 0600 file, and the one host key it accepts.
 */
export interface CloneAccess {
  url: string;
  /** A full header line, e.g. `Authorization: Basic …`; a secret, masked in logs. */
  extraHeader: string | null;
  ssh?: SshCloneAccess;
}

export interface SshCloneAccess {
  /** OpenSSH private key file contents; a secret: only ever written to a 0600 file for `ssh -i`. */
  privateKey: string;
  port: number;
  /** The pinned known_hosts line(s): a host presenting any other key is refused. */
  knownHosts: string;
  /** `SHA256:…` of the pinned key, for the message when the server presents another one. */
  hostKeyFingerprint: string | null;
}

/** The commit a tag points at (40 lowercase hex) and that commit's full message (null when Bitbucket gives none). */
export interface TaggedCommit {
  commit: string;
  message: string | null;
}

/** A commit as a person sees it: its full hash, message and author (a name, never an email address). */
export interface CommitInfo {
  commit: string;
  message: string | null;
  author: string | null;
}

/** Where a person sees a repository's things on Bitbucket's own site (Cloud or Server URLs). */
export interface RepositoryWebLinks {
  commit(hash: string): string;
  branch(name: string): string;
  tag(name: string): string;
  pullRequest(id: number): string;
}

/** The name part of a git author line (`Jane Doe <jane@example.com>` → `Jane Doe`); null when there is none. */
export function authorName(raw: unknown): string | null {
  if (typeof raw !== "string") return null;
  const name = raw.replace(/<[^>]*>/g, "").trim();
  return name ? name.slice(0, 255) : null;
}

/**
 * A person acting on a page or through the JSON API, as the door that let them in knows them — what a forge needs to
 * ask Bitbucket what that person may do.
 */
export type RepositoryPerson =
  /** A Bitbucket Cloud user named by a Connect context token (its `sub`, the account id) or a Forge invocation. */
  | { kind: "cloud-account"; accountId: string }
  /** A Bitbucket Cloud user signed in through the OAuth consumer: that person's own access token (a secret). */
  | { kind: "cloud-token"; token: string }
  /** A Bitbucket Server user: what the Server listed to that user's own credentials when they signed in. */
  | { kind: "server-sign-in"; username: string; adminRepositories: readonly string[] };

/**
 * Bitbucket could not answer now (network error, timeout, 5xx, 429): the caller keeps the work and tries again
 * later. Anything else a forge throws is final for that piece of work.
 */
export class ForgeUnavailableError extends Error {
  constructor(
    message: string,
    readonly outcome: CallOutcome,
  ) {
    super(message);
    this.name = "ForgeUnavailableError";
  }
}

/**
 * One kind of Bitbucket (Cloud through Connect, Cloud through OAuth, Server/Data Center). Everything past the
 * forge works on normalised events and these calls, and never asks which kind it is talking to. Every URL comes
 * from the tenant (install payload or stored credentials).
 */
export interface Forge {
  /** Turns a stored delivery's raw body into normalised events (throws MalformedEventError). */
  parseDelivery(eventKey: string, rawBody: string): ParsedDelivery;
  /** The text of `path` at `commit`, or null when the commit has no such file. */
  readFile(tenant: Tenant, repository: string, commit: string, path: string): Promise<string | null>;
  /** The full 40-character hash of a (possibly abbreviated) commit, or null when Bitbucket does not know it. */
  resolveCommit(tenant: Tenant, repository: string, hash: string): Promise<string | null>;
  /**
   * Like resolveCommit (the same one call), with the commit's message and author for the build's page; null when
   * Bitbucket does not know the commit. Throws ForgeUnavailableError when Bitbucket cannot answer now.
   */
  describeCommit(tenant: Tenant, repository: string, rev: string): Promise<CommitInfo | null>;
  /**
   * The commit tag `tag` points at, with its message, provided the tag still holds `value` — the new value a push
   * sent for it: an annotated tag object's id, or the commit itself for a lightweight tag. Null when the tag was
   * deleted or moved to something else since that push (there is then nothing left of it to build).
   *
   * Only a forge whose parser marks push events `unresolvedTag` (Bitbucket Server) has it; the processor calls it for
   * those events only. Throws ForgeUnavailableError when Bitbucket cannot answer now.
   */
  resolveTag?(tenant: Tenant, repository: string, tag: string, value: string): Promise<TaggedCommit | null>;
  /** Where and how a runner clones the repository (fresh credentials, valid for at least an hour). */
  cloneAccess(tenant: Tenant, repository: string): Promise<CloneAccess>;
  /**
   * Posts one commit status. Never throws for an HTTP answer: the outcome goes to the retry policy.
   * `tokenRefreshed` asks for new credentials first (after a 401).
   */
  postStatus(tenant: Tenant, repository: string, commit: string, status: CommitStatus, opts?: { refreshCredentials?: boolean }): Promise<CallOutcome>;
  /** Where a person sees a build, linked from the commit status (inside Bitbucket where the kind allows it). */
  buildPageUrl(tenant: Tenant, repository: string, build: { id: number; number: number }): string;
  /** Links to the repository's commits, branches, tags and pull requests on Bitbucket (for the build pages). */
  webLinks(tenant: Tenant, repository: string): RepositoryWebLinks;
  /**
   * Whether `person` has admin permission on `repository`, as Bitbucket answers for that person (never assumed):
   * - Cloud, `cloud-account` (a Connect context token's `sub`, a Forge invocation token's `principal`):
   *   `GET /2.0/workspaces/{ws}/permissions/repositories/{slug}?q=user.account_id="…"` with the tenant's own
   *   credentials — the Connect installation's token, or the Forge installation's newest system token (neither app
   *   can act as the user; Bitbucket answers it for repository admins);
   * - Cloud, `cloud-token`: `GET /2.0/user/permissions/repositories?q=repository.full_name="…"` with the person's own
   *   access token (the permission Bitbucket gives that person, effective: groups and projects included);
   * - Server, `server-sign-in`: the repositories the Server listed as REPO_ADMIN to the person's own credentials at
   *   sign-in (`GET /rest/api/1.0/repos?permission=REPO_ADMIN`; the credentials themselves are never kept).
   * A person of a kind this forge does not serve is not an admin. Throws ForgeUnavailableError when Bitbucket cannot
   * answer now, and an Error with Bitbucket's answer when it refuses to say (then nobody is taken for an admin).
   */
  isRepositoryAdmin(tenant: Tenant, repository: string, person: RepositoryPerson): Promise<boolean>;
  /**
   * How many commits `head` has that `base` has not (`git rev-list --count base..head`), counted up to `limit`
   * (a longer history answers `limit`); null when Bitbucket does not know one of them. Throws ForgeUnavailableError
   * when Bitbucket cannot answer now.
   */
  countCommits(tenant: Tenant, repository: string, base: string, head: string, limit: number): Promise<number | null>;
}
