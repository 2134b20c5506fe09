import {
  isSafeRefName,
  type NormalisedEvent,
  type ParsedDelivery,
  type PullRequestAction,
  type PushEvent,
  type RepositoryRef,
} from "../events";
import { PayloadReader, isObj, own, quote, type Obj } from "../payload-reader";

/** The Server webhook events Pipelines acts on; any other is stored as ignored. */
export const SERVER_ACTED_EVENTS = new Set(["repo:refs_changed", "pr:opened", "pr:from_ref_updated", "pr:modified", "pr:merged", "pr:declined", "pr:deleted"]);

/**
 * Server's pull-request events onto the normalised actions: opened → created; a new source head
 * (`from_ref_updated`) or an edit that may change the target (`modified`) → updated; merged → fulfilled; declined
 * and deleted both end the pull request → rejected.
 */
const PULL_REQUEST_ACTIONS: Record<string, PullRequestAction> = {
  "pr:opened": "created",
  "pr:from_ref_updated": "updated",
  "pr:modified": "updated",
  "pr:merged": "fulfilled",
  "pr:declined": "rejected",
  "pr:deleted": "rejected",
};

/** Server marks the missing side of a ref change (created or deleted ref) with forty zeros. */
const ZERO_HASH = "0".repeat(40);

/**
 * Turns one Bitbucket Server / Data Center webhook body into normalised events. Steps:
 *   1. `repo:refs_changed`: one {@link PushEvent} per ADD or UPDATE change of a BRANCH or TAG with a safe name;
 *      a DELETE (or a `toHash` of forty zeros), another ref type, or an unsafe name is listed in `ignored`.
 *      A tag's `toHash` is the tag object's id when the tag is annotated, and the payload does not say which kind
 *      it is: unless `toCommit` shows that `toHash` is a commit (a lightweight tag), the event is marked
 *      `unresolvedTag` and the processor asks the server for the tagged commit and its message.
 *   2. `pr:opened|from_ref_updated|modified|merged|declined|deleted`: one PullRequestEvent, unless a branch name
 *      is unsafe or the source is a tag (Server allows a pull request from a tag; pull-request pipelines are
 *      chosen by source branch, so it is listed in `ignored`, with the reason).
 *   3. Any other event key (`diagnostics:ping`, `mirror:repo_synchronized`, …): no events, one `ignored` entry.
 *
 * @throws MalformedEventError when the body lacks what its event key promises.
 */
export function parseServerEvent(eventKey: string, data: unknown): ParsedDelivery {
  if (eventKey === "repo:refs_changed") return parseRefsChanged(new Body(eventKey), data);
  const action = Object.hasOwn(PULL_REQUEST_ACTIONS, eventKey) ? PULL_REQUEST_ACTIONS[eventKey] : undefined;
  if (action) return parsePullRequest(new Body(eventKey), action, data);
  return { events: [], ignored: [{ reason: `event ${quote(String(eventKey))} is not one Pipelines acts on` }] };
}

function parseRefsChanged(body: Body, data: unknown): ParsedDelivery {
  const root = body.root(data);
  const repository = body.repository(body.object(root, "repository", "repository"), "repository");
  const changes = body.array(root, "changes", "changes");
  const actor = actorOf(own(root, "actor"));
  // Server (since 7.x) sends the head commit of a single-change push as `toCommit` (with its message).
  const toCommit = own(root, "toCommit");
  const out: ParsedDelivery = { events: [], ignored: [] };
  const ignore = (reason: string, ref?: string) => out.ignored.push(ref ? { reason, repository: repository.fullName, ref } : { reason, repository: repository.fullName });
  if (changes.length === 0) ignore("repo:refs_changed has no changes");
  changes.forEach((raw, i) => {
    const path = `changes[${i}]`;
    if (!isObj(raw)) return body.fail(path, "an object", raw);
    const ref = body.object(raw, "ref", `${path}.ref`);
    const refType = body.string(ref, "type", `${path}.ref.type`);
    const name = body.string(ref, "displayId", `${path}.ref.displayId`);
    const type = body.string(raw, "type", `${path}.type`);
    const fromHash = body.hash(raw, "fromHash", `${path}.fromHash`);
    const toHash = body.hash(raw, "toHash", `${path}.toHash`);
    const kind = refType === "BRANCH" ? "branch" : refType === "TAG" ? "tag" : null;
    // A ref label only for a name that is safe to show as one (an unsafe name stays quoted in the reason).
    const label = kind && isSafeRefName(name) ? `${kind}:${name}` : undefined;
    if (type === "DELETE" || toHash === ZERO_HASH) return ignore(`${kind ?? "ref"} ${quote(name)} was deleted`, label);
    if (type !== "ADD" && type !== "UPDATE") return ignore(`change of type ${quote(type)} to ${quote(name)} is not one Pipelines builds`, label);
    if (!kind) return ignore(`ref ${quote(name)} of type ${quote(refType)} is not a branch or tag`);
    if (!isSafeRefName(name)) return ignore(`${kind} name ${quote(name)} is not a safe git ref name`);
    const created = type === "ADD" || fromHash === ZERO_HASH;
    // `toCommit` describes `toHash` only when their ids agree: then `toHash` is a commit, with this message.
    const isHead = isObj(toCommit) && own(toCommit, "id") === toHash;
    const message = isHead && typeof own(toCommit, "message") === "string" ? (own(toCommit, "message") as string) : null;
    const event: PushEvent = {
      kind: "push",
      repository,
      refType: kind,
      refName: name,
      commit: toHash,
      previousCommit: created ? null : fromHash,
      headMessage: message,
      created,
      // Server's payload does not say whether the push rewrote history.
      forced: false,
    };
    // A branch always points at a commit (git refuses anything else under refs/heads); a tag may point at an
    // annotated tag object, and only the server can say which commit that tags.
    if (kind === "tag" && !isHead) event.unresolvedTag = true;
    if (actor) event.actor = actor;
    out.events.push(event);
  });
  return out;
}

function parsePullRequest(body: Body, action: PullRequestAction, data: unknown): ParsedDelivery {
  const root = body.root(data);
  const pr = body.object(root, "pullRequest", "pullRequest");
  const id = own(pr, "id");
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 1) return body.fail("pullRequest.id", "a positive integer", id);
  const title = body.string(pr, "title", "pullRequest.title");
  const fromRef = body.object(pr, "fromRef", "pullRequest.fromRef");
  const toRef = body.object(pr, "toRef", "pullRequest.toRef");
  // A pull request's repository is its destination; the source may be a fork.
  const repository = body.repository(body.object(toRef, "repository", "pullRequest.toRef.repository"), "pullRequest.toRef.repository");
  const source = body.repository(body.object(fromRef, "repository", "pullRequest.fromRef.repository"), "pullRequest.fromRef.repository");
  const sourceBranch = body.string(fromRef, "displayId", "pullRequest.fromRef.displayId");
  const destinationBranch = body.string(toRef, "displayId", "pullRequest.toRef.displayId");
  const sourceCommit = body.hash(fromRef, "latestCommit", "pullRequest.fromRef.latestCommit");
  const destinationCommit = own(toRef, "latestCommit") === undefined ? null : body.hash(toRef, "latestCommit", "pullRequest.toRef.latestCommit");
  const ignore = (reason: string): ParsedDelivery => ({
    events: [],
    ignored: [{ reason: `pull request #${id}: ${reason}`, repository: repository.fullName, ref: `pull-request:${id}`, commit: sourceCommit }],
  });
  if (refKind(fromRef) === "tag") {
    // Server lets a pull request start from a tag (Cloud cannot). Pull-request pipelines are chosen by source
    // branch and run with BITBUCKET_BRANCH set to it: a tag there would be built as if it were a branch.
    const what = action === "created" || action === "updated" ? "it is not built" : "it has no builds to stop";
    return ignore(`its source is tag ${quote(sourceBranch)}, not a branch: pull-request pipelines run for source branches only, so ${what} (a tag is built by the tags pipelines when it is pushed)`);
  }
  if (!isSafeRefName(sourceBranch)) return ignore(`source branch name ${quote(sourceBranch)} is not a safe git ref name`);
  if (!isSafeRefName(destinationBranch)) return ignore(`destination branch name ${quote(destinationBranch)} is not a safe git ref name`);
  const event: NormalisedEvent = {
    kind: "pull-request",
    action,
    repository,
    id,
    title,
    sourceBranch,
    sourceCommit,
    sourceRepositoryFullName: source.fullName,
    destinationBranch,
    destinationCommit,
    headMessage: null,
  };
  return { events: [event], ignored: [] };
}

/** A pull request's ref (`{id: "refs/tags/v1", type: "TAG"}`): a tag when either its type or its full name says so. */
function refKind(ref: Obj): "branch" | "tag" {
  const type = own(ref, "type");
  const id = own(ref, "id");
  return type === "TAG" || (typeof id === "string" && id.startsWith("refs/tags/")) ? "tag" : "branch";
}

function actorOf(raw: unknown): PushEvent["actor"] {
  if (!isObj(raw)) return undefined;
  const displayName = own(raw, "displayName");
  return typeof displayName === "string" ? { displayName } : undefined;
}

/** A project key or repository slug as Server allows them (never `.` or `..`). */
const KEY = /^[A-Za-z0-9_.~-]+$/;

/** Reads a Server payload. */
class Body extends PayloadReader {
  /** `{slug, name, project: {key}}` → `PROJECT/slug`. */
  repository(repo: Obj, path: string): RepositoryRef {
    const slug = this.string(repo, "slug", `${path}.slug`);
    const key = this.string(this.object(repo, "project", `${path}.project`), "key", `${path}.project.key`);
    for (const [p, v] of [[`${path}.slug`, slug], [`${path}.project.key`, key]] as const) {
      if (!KEY.test(v) || v === "." || v === "..") this.fail(p, "a project key or repository slug", v);
    }
    const ref: RepositoryRef = { fullName: `${key}/${slug}` };
    const id = own(repo, "id");
    const name = own(repo, "name");
    if (typeof id === "number") ref.uuid = String(id);
    if (typeof name === "string") ref.name = name;
    return ref;
  }
}
