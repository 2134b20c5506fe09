/**
 * Normalised events: what the rest of the engine sees of a webhook, whatever kind of Bitbucket sent it.
 * A forge's parser turns a delivery into these (or into reasons it was ignored); nothing past the parser reads
 * a provider payload. Every string in an event has been validated: hashes are hex, ref names pass
 * {@link isSafeRefName}, so they can be handed to git and to shell-facing code without further checks.
 *
 * The small validators that define "valid" live here too, so that every forge's parser applies the same rules.
 */

export type RefType = "branch" | "tag";

/** The repository a webhook is about, as Bitbucket names it. */
export interface RepositoryRef {
  /** `workspace/repo-slug` (Cloud) or `PROJECT/repo-slug` (Server); the stable key for the repository within a tenant. */
  fullName: string;
  /** Bitbucket's own id, braces included on Cloud (`{c389eba6-…}`); absent when the payload does not carry one. */
  uuid?: string;
  /** The display name (may differ from the slug in `fullName`); absent when the payload does not carry one. */
  name?: string;
}

/** One ref that now points at a commit because of a push. A push that moves several refs yields several. */
export interface PushEvent {
  kind: "push";
  repository: RepositoryRef;
  refType: RefType;
  /** The short name (`main`, `feature/x`, `v1.0`), never `refs/heads/…`; passes {@link isSafeRefName}. */
  refName: string;
  /**
   * The commit the ref now points at: 40 lowercase hex. For an annotated tag, the tagged commit — unless
   * `unresolvedTag` is set, when it is the tag's new value as the payload sent it.
   */
  commit: string;
  /**
   * The commit the ref pointed at before the push (40 lowercase hex), or null when the ref was created. With
   * `unresolvedTag`, the tag's old value as sent (it may name an annotated tag object).
   */
  previousCommit: string | null;
  /** The full message of `commit`, or null when the payload does not carry it. */
  headMessage: string | null;
  /** Who wrote `commit` (a display name, never an email address), when the payload says. */
  headAuthor?: string;
  /**
   * Set on a tag push whose payload does not say what `commit` is: Bitbucket Server sends the new value of the ref,
   * which for an annotated tag is the tag object's id, not the tagged commit. Before anything uses the event, the
   * processor asks the forge (`Forge.resolveTag`, forge.ts) for the commit the tag points at and for its message.
   */
  unresolvedTag?: true;
  /** The ref did not exist before this push. */
  created: boolean;
  /** The push was a force-push that rewrote the ref's history. */
  forced: boolean;
  /** Who pushed, as far as the payload says. */
  actor?: { uuid?: string; displayName?: string };
}

/** What happened to a pull request: created/updated ask for a build; fulfilled (merged) and rejected (declined) end it. */
export type PullRequestAction = "created" | "updated" | "fulfilled" | "rejected";

export interface PullRequestEvent {
  kind: "pull-request";
  action: PullRequestAction;
  /** The repository the pull request belongs to (its destination). */
  repository: RepositoryRef;
  /** The pull request's number within `repository`. */
  id: number;
  title: string;
  /** Passes {@link isSafeRefName}. */
  sourceBranch: string;
  /**
   * The head of the source branch, as sent: Bitbucket Cloud sends only the first 12 hex characters, so this is
   * 12–40 lowercase hex ({@link isShortHash}); resolve it against `sourceRepositoryFullName` before building.
   */
  sourceCommit: string;
  /** Where `sourceBranch` lives; differs from `repository.fullName` when the pull request comes from a fork. */
  sourceRepositoryFullName: string;
  /** Passes {@link isSafeRefName}. */
  destinationBranch: string;
  /** The head of the destination branch as sent (12–40 hex), or null when the payload does not carry it. */
  destinationCommit: string | null;
  /** The message of the source head commit, or null when the payload does not carry it (Cloud usually does not). */
  headMessage: string | null;
  /** Who caused the event (opened or updated the pull request), as far as the payload says. */
  actor?: { uuid?: string; displayName?: string };
}

export type NormalisedEvent = PushEvent | PullRequestEvent;

/** The outcome of parsing one delivery: the events to act on, and a reason for everything in it that was skipped. */
export interface ParsedDelivery {
  events: NormalisedEvent[];
  ignored: IgnoredEvent[];
}

/** Something in a delivery that Pipelines does not act on, and why; with what it was about when the payload says. */
export interface IgnoredEvent {
  reason: string;
  /** `PROJECT/slug` or `workspace/slug`: the decision is then listed with that repository's application. */
  repository?: string;
  /** `branch:<name>`, `tag:<name>` or `pull-request:<id>`, as decisions name refs. */
  ref?: string;
  /** 40 lowercase hex, when the payload names the commit. */
  commit?: string;
}

/**
 * The delivery does not have the shape its event key promises. The message says what is missing or wrong, e.g.
 * `repo:push has no push.changes`. Retrying the same body cannot succeed.
 */
export class MalformedEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedEventError";
  }
}

const FULL_HASH = /^[0-9a-f]{40}$/;
const SHORT_HASH = /^[0-9a-f]{12,40}$/;

/** A full SHA-1 commit id: exactly 40 lowercase hex characters. */
export function isFullHash(s: unknown): s is string {
  return typeof s === "string" && FULL_HASH.test(s);
}

/** A commit id as Bitbucket Cloud sends it in pull-request payloads: 12 to 40 lowercase hex characters. */
export function isShortHash(s: unknown): s is string {
  return typeof s === "string" && SHORT_HASH.test(s);
}

// ASCII control characters, DEL, space, and the characters git reserves: ~ ^ : ? * [ \
// eslint-disable-next-line no-control-regex
const FORBIDDEN_REF_CHARS = /[\x00-\x20\x7f~^:?*[\\]/;
// A UTF-16 surrogate that is not half of a pair: such a string has no UTF-8 form, so handing it to git (as an
// argument or in the environment) would name a different ref, with U+FFFD in its place.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Whether `name` is a branch or tag name that git itself would accept (the rules of `git check-ref-format`,
 * applied to the short name) and that cannot be mistaken for a command-line option. False for: the empty string;
 * a leading `-` or `/`; a trailing `/` or `.`; `//`; `..`; `@{`; the name `@`; a path component that starts with
 * `.` or ends with `.lock`; ASCII control characters, DEL, space, and any of `~ ^ : ? * [ \`; a lone UTF-16 surrogate
 * (a string with no UTF-8 form, so not a name git could be given).
 */
export function isSafeRefName(name: unknown): name is string {
  if (typeof name !== "string" || name === "" || name === "@") return false;
  if (name.startsWith("-") || name.endsWith(".")) return false;
  if (name.includes("..") || name.includes("@{") || FORBIDDEN_REF_CHARS.test(name) || LONE_SURROGATE.test(name)) return false;
  // Splitting on "/" also catches a leading or trailing "/" and "//" as an empty component.
  return name.split("/").every((part) => part !== "" && !part.startsWith(".") && !part.endsWith(".lock"));
}
