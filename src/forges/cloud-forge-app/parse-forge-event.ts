import { MalformedEventError, isFullHash, isSafeRefName, isShortHash, type ParsedDelivery, type PullRequestEvent, type PushEvent, type RepositoryRef } from "../events";
import { PayloadReader, isObj, own, quote, type Obj } from "../payload-reader";
import { FORGE_PULL_REQUEST_EVENTS, FORGE_PUSH_EVENT } from "./forge-events";
import { bracedUuid } from "./fit/fit-claims";

/**
 * Turns one Forge Bitbucket event (the body Forge POSTs to the trigger's endpoint) into normalised events. Forge's
 * payloads name the workspace and repository by uuid only (the slug sometimes), so the repository's `fullName` is
 * `{workspace-uuid}/{repository-uuid}` — a path Bitbucket's REST API accepts — and its `uuid` is what finds the
 * application (whose own full name Bitbucket gave when it was created).
 *   1. `avi:bitbucket:push:repository`: one push per event (Forge sends one event per ref). A branch push carries
 *      `mainbranch` and `commits`, a tag push neither; `closed` (the ref was deleted) is ignored; `after` is the
 *      commit, `before` the one it replaced.
 *   2. `avi:bitbucket:created|updated|fulfilled|rejected:pullrequest`: one PullRequestEvent. Forge does not say
 *      where the source branch lives, so it is taken to be the pull request's own repository.
 *   3. Any other event: no events, one `ignored` entry. `retryContext` (Forge's retries) is not part of the event.
 *
 * @throws MalformedEventError when the body is not JSON or lacks what its event type promises.
 */
export function parseForgeEvent(eventType: string, rawBody: string): ParsedDelivery {
  let data: unknown;
  try {
    data = JSON.parse(rawBody);
  } catch (err) {
    throw new MalformedEventError(`the delivery is not JSON (${(err as Error).message})`);
  }
  const body = new ForgeBody(eventType);
  if (eventType === FORGE_PUSH_EVENT) return parsePush(body, body.root(data));
  const action = Object.hasOwn(FORGE_PULL_REQUEST_EVENTS, eventType) ? FORGE_PULL_REQUEST_EVENTS[eventType as keyof typeof FORGE_PULL_REQUEST_EVENTS] : undefined;
  if (action) return parsePullRequest(body, body.root(data), action);
  return { events: [], ignored: [{ reason: `event ${quote(eventType)} is not one Pipelines acts on` }] };
}

class ForgeBody extends PayloadReader {
  uuid(parent: Obj, key: string, path: string): string {
    const v = own(this.object(parent, key, path), "uuid");
    return bracedUuid(v) ?? this.fail(`${path}.uuid`, "a uuid", v);
  }

  repository(root: Obj): RepositoryRef {
    const workspace = this.uuid(root, "workspace", "workspace");
    const uuid = this.uuid(root, "repository", "repository");
    const slug = own(this.object(root, "repository", "repository"), "slug");
    return { fullName: `${workspace}/${uuid}`, uuid, ...(typeof slug === "string" && slug ? { name: slug } : {}) };
  }
}

function messageOf(v: unknown): string | null {
  if (!isObj(v)) return null;
  const value = own(v, "value");
  return typeof value === "string" ? value : null;
}

function parsePush(body: ForgeBody, root: Obj): ParsedDelivery {
  const repository = body.repository(root);
  const push = body.object(root, "push", "push");
  const ref = body.string(push, "ref", "push.ref");
  const refType = own(push, "mainbranch") !== undefined || own(push, "commits") !== undefined ? "branch" : "tag";
  if (body.optionalBoolean(push, "closed", "push.closed")) return { events: [], ignored: [{ reason: `${refType} ${quote(ref)} was deleted` }] };
  if (!isSafeRefName(ref)) return { events: [], ignored: [{ reason: `${refType} name ${quote(ref)} is not one Pipelines builds (not a valid git ref name)` }] };
  const commit = body.hash(push, "after", "push.after");
  const before = own(push, "before");
  if (before !== undefined && before !== null && !isFullHash(before)) body.fail("push.before", "a 40-character lowercase hex commit hash", before);
  let headMessage: string | null = null;
  if (refType === "branch") {
    const commits = own(push, "commits");
    const list = Array.isArray(commits) ? commits.filter(isObj) : [];
    const head = list.find((c) => own(c, "hash") === commit) ?? list[0];
    headMessage = head ? messageOf(own(head, "message")) : null;
  }
  const actor = isObj(own(root, "actor")) ? (own(root, "actor") as Obj) : {};
  const event: PushEvent = {
    kind: "push",
    repository,
    refType,
    refName: ref,
    commit,
    previousCommit: isFullHash(before) ? before : null,
    headMessage,
    created: body.optionalBoolean(push, "created", "push.created") ?? false,
    forced: body.optionalBoolean(push, "forced", "push.forced") ?? false,
    ...(typeof own(actor, "uuid") === "string" ? { actor: { uuid: String(own(actor, "uuid")) } } : {}),
  };
  return { events: [event], ignored: [] };
}

function parsePullRequest(body: ForgeBody, root: Obj, action: PullRequestEvent["action"]): ParsedDelivery {
  const repository = body.repository(root);
  const pr = body.object(root, "pullrequest", "pullrequest");
  const id = own(pr, "id");
  if (!Number.isSafeInteger(id) || (id as number) < 1) body.fail("pullrequest.id", "a pull request number", id);
  const side = (name: "source" | "destination") => {
    const s = body.object(pr, name, `pullrequest.${name}`);
    const branch = body.string(s, "branch", `pullrequest.${name}.branch`);
    const hash = own(body.object(s, "commit", `pullrequest.${name}.commit`), "hash");
    return { branch, hash };
  };
  const source = side("source");
  const destination = side("destination");
  if (!isShortHash(source.hash)) body.fail("pullrequest.source.commit.hash", "a commit hash (12 to 40 lowercase hex characters)", source.hash);
  for (const [name, branch] of [["source", source.branch], ["destination", destination.branch]]) {
    if (!isSafeRefName(branch)) return { events: [], ignored: [{ reason: `pull request #${String(id)}: ${name} branch ${quote(branch)} is not a valid git ref name` }] };
  }
  const event: PullRequestEvent = {
    kind: "pull-request",
    action,
    repository,
    id: id as number,
    title: messageOf(own(pr, "title")) ?? "",
    sourceBranch: source.branch,
    sourceCommit: source.hash as string,
    sourceRepositoryFullName: repository.fullName,
    destinationBranch: destination.branch,
    destinationCommit: isShortHash(destination.hash) ? destination.hash : null,
    headMessage: null,
  };
  return { events: [event], ignored: [] };
}
