import {
  MalformedEventError,
  isFullHash,
  isSafeRefName,
  isShortHash,
  type NormalisedEvent,
  type ParsedDelivery,
  type PullRequestAction,
  type PushEvent,
  type RefType,
  type RepositoryRef,
} from "../events";
import { authorName } from "../forge";
import { PayloadReader, isObj, own, quote, type Obj } from "../payload-reader";

// The validators are the forge-independent ones; re-exported so a Cloud caller needs one import.
export { MalformedEventError, isFullHash, isSafeRefName, isShortHash };

const PULL_REQUEST_ACTIONS: Record<string, PullRequestAction> = {
  "pullrequest:created": "created",
  "pullrequest:updated": "updated",
  "pullrequest:fulfilled": "fulfilled",
  "pullrequest:rejected": "rejected",
};

/**
 * Turns one Bitbucket Cloud webhook body into normalised events.
 *
 * `data` is the body itself for a plain repository webhook, and `payload.data` of a Connect delivery (the two have
 * the same shape). Steps:
 *   1. `repo:push`: one {@link PushEvent} per change whose `new` side is a branch or tag with a safe name. A deleted
 *      ref (`new: null`), another ref type, or an unsafe name is listed in `ignored` with the reason.
 *   2. `pullrequest:created|updated|fulfilled|rejected`: one PullRequestEvent, unless a branch name is unsafe or
 *      the source repository is gone (then `ignored`).
 *   3. Any other event key: no events, one `ignored` entry.
 * `[skip ci]` is not decided here (see `skip-ci.ts`); `headMessage` carries what it needs.
 *
 * @throws MalformedEventError when the body lacks what its event key promises (e.g. `repo:push has no
 *   push.changes`, a target hash that is not 40 hex); retrying the same body cannot help.
 */
export function parseCloudEvent(eventKey: string, data: unknown): ParsedDelivery {
  if (eventKey === "repo:push") return parsePush(new Body(eventKey), data);
  const action = Object.hasOwn(PULL_REQUEST_ACTIONS, eventKey) ? PULL_REQUEST_ACTIONS[eventKey] : undefined;
  if (action) return parsePullRequest(new Body(eventKey), action, data);
  return { events: [], ignored: [{ reason: `event ${quote(String(eventKey))} is not one Pipelines acts on` }] };
}

function parsePush(body: Body, data: unknown): ParsedDelivery {
  const root = body.root(data);
  const repository = body.repository(root);
  const changes = body.array(body.object(root, "push", "push"), "changes", "push.changes");
  const actor = actorOf(own(root, "actor"));
  const out: ParsedDelivery = { events: [], ignored: [] };
  if (changes.length === 0) out.ignored.push({ reason: "repo:push has no changes" });
  changes.forEach((raw, i) => {
    const result = parseChange(body, `push.changes[${i}]`, raw, repository, actor);
    if (typeof result === "string") out.ignored.push({ reason: result });
    else out.events.push(result);
  });
  return out;
}

/** One change of a push: the event it yields, or the reason it yields none. */
function parseChange(body: Body, path: string, raw: unknown, repository: RepositoryRef, actor: PushEvent["actor"]): PushEvent | string {
  if (!isObj(raw)) return body.fail(path, "an object", raw);
  const oldSide = own(raw, "old");
  const newSide = own(raw, "new");
  const before = oldSide === null || oldSide === undefined ? null : body.ref(oldSide, `${path}.old`);
  if (newSide === null || newSide === undefined) {
    if (!before) return body.fail(path, "a change with a new or an old side", raw);
    return `${before.type === "branch" || before.type === "tag" ? before.type : "ref"} ${quote(before.name)} was deleted`;
  }
  const after = body.ref(newSide, `${path}.new`);
  const created = body.optionalBoolean(raw, "created", `${path}.created`) ?? before === null;
  const forced = body.optionalBoolean(raw, "forced", `${path}.forced`) ?? false;
  if (after.type !== "branch" && after.type !== "tag") return `ref ${quote(after.name)} of type ${quote(after.type)} is not a branch or tag`;
  if (!isSafeRefName(after.name)) return `${after.type} name ${quote(after.name)} is not a safe git ref name`;
  const event: PushEvent = {
    kind: "push",
    repository,
    refType: after.type satisfies RefType,
    refName: after.name,
    commit: after.hash,
    previousCommit: before ? before.hash : null,
    headMessage: after.message,
    created,
    forced,
  };
  if (actor) event.actor = actor;
  if (after.author) event.headAuthor = after.author;
  return event;
}

function parsePullRequest(body: Body, action: PullRequestAction, data: unknown): ParsedDelivery {
  const root = body.root(data);
  const repository = body.repository(root);
  const pr = body.object(root, "pullrequest", "pullrequest");
  const id = own(pr, "id");
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 1) return body.fail("pullrequest.id", "a positive integer", id);
  const label = `pull request #${id}`;
  const ignore = (reason: string): ParsedDelivery => ({ events: [], ignored: [{ reason: `${label}: ${reason}` }] });
  const source = body.object(pr, "source", "pullrequest.source");
  // A pull request whose fork was deleted has a null source repository: nothing left to build. Decided first, so
  // that such a pull request is ignored whatever else is left (or missing) of its source side.
  if (own(source, "repository") === null) return ignore("its source repository no longer exists");
  const sourceRepositoryFullName = body.fullName(body.object(source, "repository", "pullrequest.source.repository"), "pullrequest.source.repository.full_name");
  const title = body.string(pr, "title", "pullrequest.title");
  const destination = body.object(pr, "destination", "pullrequest.destination");
  const sourceBranch = body.string(body.object(source, "branch", "pullrequest.source.branch"), "name", "pullrequest.source.branch.name");
  const sourceHead = body.object(source, "commit", "pullrequest.source.commit");
  const sourceCommit = body.shortHash(sourceHead, "pullrequest.source.commit.hash");
  const sourceMessage = own(sourceHead, "message");
  const destinationBranch = body.string(body.object(destination, "branch", "pullrequest.destination.branch"), "name", "pullrequest.destination.branch.name");
  const destinationHead = own(destination, "commit");
  const destinationCommit =
    destinationHead === null || destinationHead === undefined ? null : body.shortHash(body.object(destination, "commit", "pullrequest.destination.commit"), "pullrequest.destination.commit.hash");

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
    sourceRepositoryFullName,
    destinationBranch,
    destinationCommit,
    headMessage: typeof sourceMessage === "string" ? sourceMessage : null,
  };
  const actor = actorOf(own(root, "actor"));
  if (actor) event.actor = actor;
  return { events: [event], ignored: [] };
}

/** A commit's author as Cloud sends it: `{raw: "Name <email>", user?: {display_name}}` → the display name, else the name. */
export function cloudAuthor(raw: unknown): string | null {
  if (!isObj(raw)) return null;
  const user = own(raw, "user");
  const display = isObj(user) ? own(user, "display_name") : undefined;
  if (typeof display === "string" && display.trim()) return display.trim().slice(0, 255);
  return authorName(own(raw, "raw"));
}

function actorOf(raw: unknown): PushEvent["actor"] {
  if (!isObj(raw)) return undefined;
  const actor: NonNullable<PushEvent["actor"]> = {};
  const uuid = own(raw, "uuid");
  const displayName = own(raw, "display_name");
  if (typeof uuid === "string") actor.uuid = uuid;
  if (typeof displayName === "string") actor.displayName = displayName;
  return actor.uuid === undefined && actor.displayName === undefined ? undefined : actor;
}

/** `workspace/repo-slug`: two slugs, neither `.` nor `..`. */
const FULL_NAME = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/** Reads a Cloud payload (the body of a plain webhook, or `data` of a Connect delivery). */
class Body extends PayloadReader {
  shortHash(parent: Obj, path: string): string {
    const v = own(parent, "hash");
    return isShortHash(v) ? v : this.fail(path, "a commit hash of 12 to 40 lowercase hex characters", v);
  }

  fullName(parent: Obj, path: string): string {
    const v = own(parent, "full_name");
    const ok = typeof v === "string" && FULL_NAME.test(v) && v.split("/").every((part) => part !== "." && part !== "..");
    return ok ? v : this.fail(path, "a repository full name like workspace/repo-slug", v);
  }

  repository(root: Obj): RepositoryRef {
    const repo = this.object(root, "repository", "repository");
    const ref: RepositoryRef = { fullName: this.fullName(repo, "repository.full_name") };
    const uuid = own(repo, "uuid");
    const name = own(repo, "name");
    if (typeof uuid === "string") ref.uuid = uuid;
    if (typeof name === "string") ref.name = name;
    return ref;
  }

  /** One side (`old` or `new`) of a push change: `{type, name, target: {hash, message}}`. */
  ref(raw: unknown, path: string): { type: string; name: string; hash: string; message: string | null; author: string | null } {
    if (!isObj(raw)) return this.fail(path, "an object", raw);
    const type = this.string(raw, "type", `${path}.type`);
    const name = this.string(raw, "name", `${path}.name`);
    const target = this.object(raw, "target", `${path}.target`);
    const hash = this.hash(target, "hash", `${path}.target.hash`);
    const message = own(target, "message");
    return { type, name, hash, message: typeof message === "string" ? message : null, author: cloudAuthor(own(target, "author")) };
  }
}
