import { commitLinks, commitObject, repositoryMini, repositoryObject, userAccount } from "./objects";
import type { Developer, RepositoryRecord, Urls, WorkspaceRecord } from "./state";
import type { CommitSpec, PullRequestEvent, PullRequestSpec, PushChangeSpec } from "./types";

/** Builders of webhook `data` objects (repo:push, pullrequest:*) shaped like Bitbucket's. */

type Json = Record<string, unknown>;

export interface PayloadContext {
  urls: Urls;
  dev: Developer;
  ws: WorkspaceRecord;
  repo: RepositoryRecord;
}

function asSpec(c: CommitSpec | string): CommitSpec {
  const spec = typeof c === "string" ? { hash: c } : c;
  if (!/^[0-9a-f]{40}$/.test(spec.hash)) throw new Error(`a push carries full 40-hex commit hashes, not "${spec.hash}"`);
  return spec;
}

function refObject(ctx: PayloadContext, type: "branch" | "tag", name: string, target: CommitSpec): Json {
  const api = `${ctx.urls.api}/2.0/repositories/${ctx.repo.workspace}/${ctx.repo.slug}`;
  const html = `${ctx.urls.site}/${ctx.repo.workspace}/${ctx.repo.slug}`;
  const t = commitObject(ctx.urls, ctx.dev, ctx.repo, target);
  if (type === "branch") {
    return {
      name,
      links: { commits: { href: `${api}/commits/${name}` }, self: { href: `${api}/refs/branches/${name}` }, html: { href: `${html}/branch/${name}` } },
      default_merge_strategy: "merge_commit",
      merge_strategies: ["merge_commit", "squash", "fast_forward"],
      type: "branch",
      target: t,
    };
  }
  return {
    name,
    links: { commits: { href: `${api}/commits/${name}` }, self: { href: `${api}/refs/tags/${name}` }, html: { href: `${html}/commits/tag/${name}` } },
    tagger: null,
    date: null,
    message: null,
    type: "tag",
    target: t,
  };
}

function changeObject(ctx: PayloadContext, c: PushChangeSpec): Json {
  const type = c.type ?? "branch";
  const oldSpec = c.old ? asSpec(c.old) : null;
  const newSpec = c.new ? asSpec(c.new) : null;
  if (!oldSpec && !newSpec) throw new Error(`the change of ${type} "${c.name}" has neither an old nor a new head`);
  const api = `${ctx.urls.api}/2.0/repositories/${ctx.repo.workspace}/${ctx.repo.slug}`;
  const html = `${ctx.urls.site}/${ctx.repo.workspace}/${ctx.repo.slug}`;
  const commits = (c.commits ?? (newSpec ? [newSpec] : [])).map((x) => commitObject(ctx.urls, ctx.dev, ctx.repo, asSpec(x), true));
  const links: Json = {};
  if (newSpec) {
    links.commits = { href: `${api}/commits?include=${newSpec.hash}${oldSpec ? `&exclude=${oldSpec.hash}` : ""}` };
    if (type === "branch") links.html = { href: `${html}/branch/${c.name}` };
    if (oldSpec) {
      links.diff = { href: `${api}/diff/${newSpec.hash}..${oldSpec.hash}` };
      links.html = { href: `${html}/branches/compare/${newSpec.hash}..${oldSpec.hash}` };
    }
  }
  return {
    forced: c.forced ?? false,
    old: oldSpec ? refObject(ctx, type, c.name, oldSpec) : null,
    links,
    created: !oldSpec,
    commits,
    truncated: c.truncated ?? false,
    closed: !newSpec,
    new: newSpec ? refObject(ctx, type, c.name, newSpec) : null,
  };
}

/** The `data` of a repo:push: `{push: {changes}, actor, repository}`. */
export function pushData(ctx: PayloadContext, changes: PushChangeSpec[]): Json {
  if (changes.length === 0) throw new Error("a push has at least one change");
  return {
    push: { changes: changes.map((c) => changeObject(ctx, c)) },
    actor: userAccount(ctx.urls, ctx.dev),
    repository: repositoryObject(ctx.urls, ctx.ws, ctx.repo),
  };
}

function shortHash(hash: string): string {
  return hash.slice(0, 12);
}

function prState(spec: PullRequestSpec, event: PullRequestEvent | undefined): string {
  if (spec.state) return spec.state;
  if (event === "pullrequest:fulfilled") return "MERGED";
  if (event === "pullrequest:rejected") return "DECLINED";
  return "OPEN";
}

/** A pull request as webhooks and GET …/pullrequests/{id} carry it (commit hashes cut to 12 characters). */
export function pullRequestObject(ctx: PayloadContext, spec: PullRequestSpec, event?: PullRequestEvent, sourceRepo?: RepositoryRecord): Json {
  const api = `${ctx.urls.api}/2.0/repositories/${ctx.repo.workspace}/${ctx.repo.slug}`;
  const html = `${ctx.urls.site}/${ctx.repo.workspace}/${ctx.repo.slug}`;
  const description = spec.description ?? "";
  const src = shortHash(spec.source.commit);
  const dst = shortHash(spec.destination.commit);
  const state = prState(spec, event);
  const now = new Date().toISOString();
  const pr = `${api}/pullrequests/${spec.id}`;
  const srcRepo = sourceRepo ?? ctx.repo;
  const dev = userAccount(ctx.urls, ctx.dev);
  const rendered = (raw: string): Json => ({ raw, markup: "markdown", html: raw ? `<p>${raw}</p>` : "", type: "rendered" });
  const fullName = `${ctx.repo.workspace}/${ctx.repo.slug}`;
  return {
    rendered: { description: rendered(description), title: rendered(spec.title) },
    type: "pullrequest",
    description,
    links: {
      decline: { href: `${pr}/decline` },
      diffstat: { href: `${api}/diffstat/${fullName}:${src}%0D${dst}?from_pullrequest_id=${spec.id}` },
      commits: { href: `${pr}/commits` },
      self: { href: pr },
      comments: { href: `${pr}/comments` },
      merge: { href: `${pr}/merge` },
      html: { href: `${html}/pull-requests/${spec.id}` },
      activity: { href: `${pr}/activity` },
      "request-changes": { href: `${pr}/request-changes` },
      diff: { href: `${api}/diff/${fullName}:${src}%0D${dst}?from_pullrequest_id=${spec.id}` },
      approve: { href: `${pr}/approve` },
      statuses: { href: `${pr}/statuses` },
    },
    title: spec.title,
    close_source_branch: spec.closeSourceBranch ?? false,
    reviewers: [],
    id: spec.id,
    destination: {
      commit: { hash: dst, type: "commit", links: commitLinks(ctx.urls, ctx.repo, dst) },
      repository: repositoryMini(ctx.urls, ctx.repo),
      branch: { name: spec.destination.branch },
    },
    created_on: spec.createdOn ?? now,
    summary: rendered(description),
    source: {
      commit: { hash: src, type: "commit", links: commitLinks(ctx.urls, srcRepo, src) },
      repository: repositoryMini(ctx.urls, srcRepo),
      branch: { name: spec.source.branch },
    },
    comment_count: 0,
    state,
    task_count: 0,
    participants: [],
    reason: "",
    updated_on: spec.updatedOn ?? now,
    author: dev,
    merge_commit: state === "MERGED" && spec.mergeCommit ? { hash: shortHash(spec.mergeCommit), links: { self: { href: `${api}/commit/${shortHash(spec.mergeCommit)}` } } } : null,
    closed_by: state === "MERGED" || state === "DECLINED" ? dev : null,
  };
}

/** The `data` of a pullrequest:* event: `{pullrequest, repository, actor}`. */
export function pullRequestData(ctx: PayloadContext, spec: PullRequestSpec, event: PullRequestEvent, sourceRepo?: RepositoryRecord): Json {
  return {
    pullrequest: pullRequestObject(ctx, spec, event, sourceRepo),
    repository: repositoryObject(ctx.urls, ctx.ws, ctx.repo),
    actor: userAccount(ctx.urls, ctx.dev),
  };
}
