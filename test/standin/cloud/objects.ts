import type { Developer, RepositoryRecord, Urls, WorkspaceRecord } from "./state";
import type { CommitAuthor, CommitSpec } from "./types";

/**
 * Bitbucket's JSON objects (accounts, workspaces, repositories, commits), shaped like the real payloads in
 * fixtures/bitbucket/cloud, with every link pointing at the stand-in's own site and API URLs.
 */

type Json = Record<string, unknown>;

const enc = encodeURIComponent;

function href(url: string): { href: string } {
  return { href: url };
}

export function teamAccount(urls: Urls, ws: WorkspaceRecord): Json {
  return {
    username: ws.slug,
    display_name: ws.name,
    uuid: ws.uuid,
    links: {
      self: href(`${urls.api}/2.0/teams/${enc(ws.uuid)}`),
      html: href(`${urls.site}/${enc(ws.uuid)}/`),
      avatar: href(`${urls.site}/account/${ws.slug}/avatar/`),
    },
    is_active: true,
    created_on: ws.createdOn,
    type: "team",
    properties: {},
    has_2fa_enabled: null,
  };
}

export function userAccount(urls: Urls, dev: Developer): Json {
  return {
    display_name: dev.name,
    uuid: dev.uuid,
    links: {
      self: href(`${urls.api}/2.0/users/${enc(dev.uuid)}`),
      html: href(`${urls.site}/${enc(dev.uuid)}/`),
      avatar: href(`${urls.site}/account/${enc(dev.uuid)}/avatar/`),
    },
    type: "user",
    nickname: dev.name,
    account_id: dev.accountId,
  };
}

export function workspaceObject(urls: Urls, ws: WorkspaceRecord, full = false): Json {
  const base: Json = {
    slug: ws.slug,
    type: "workspace",
    name: ws.name,
    links: {
      self: href(`${urls.api}/2.0/workspaces/${ws.slug}`),
      html: href(`${urls.site}/${ws.slug}/`),
      avatar: href(`${urls.site}/workspaces/${ws.slug}/avatar/`),
    },
    uuid: ws.uuid,
  };
  if (full) {
    base.is_private = true;
    base.created_on = ws.createdOn;
    (base.links as Json).repositories = href(`${urls.api}/2.0/repositories/${ws.slug}`);
    (base.links as Json).members = href(`${urls.api}/2.0/workspaces/${ws.slug}/members`);
  }
  return base;
}

function projectObject(urls: Urls, ws: WorkspaceRecord): Json {
  return {
    links: {
      self: href(`${urls.api}/2.0/workspaces/${ws.slug}/projects/PROJ`),
      html: href(`${urls.site}/${ws.slug}/workspace/projects/PROJ`),
      avatar: href(`${urls.site}/account/user/${ws.slug}/projects/PROJ/avatar/32`),
    },
    type: "project",
    name: "Default project",
    key: "PROJ",
    uuid: ws.projectUuid,
  };
}

function repoLinks(urls: Urls, repo: RepositoryRecord): Json {
  return {
    self: href(`${urls.api}/2.0/repositories/${repo.workspace}/${repo.slug}`),
    html: href(`${urls.site}/${repo.workspace}/${repo.slug}`),
    avatar: href(`${urls.site}/ravatar/${enc(repo.uuid)}?ts=default`),
  };
}

/** The short repository object inside pull requests, statuses and hooks. */
export function repositoryMini(urls: Urls, repo: RepositoryRecord): Json {
  return { links: repoLinks(urls, repo), type: "repository", name: repo.name, full_name: `${repo.workspace}/${repo.slug}`, uuid: repo.uuid };
}

/** The repository as webhooks carry it (`full` adds what GET /2.0/repositories/{ws}/{slug} answers). */
export function repositoryObject(urls: Urls, ws: WorkspaceRecord, repo: RepositoryRecord, full = false): Json {
  const base: Json = {
    scm: "git",
    website: null,
    uuid: repo.uuid,
    links: repoLinks(urls, repo),
    project: projectObject(urls, ws),
    full_name: `${repo.workspace}/${repo.slug}`,
    owner: ownerOf(teamAccount(urls, ws)),
    workspace: workspaceObject(urls, ws),
    type: "repository",
    is_private: repo.isPrivate,
    name: repo.name,
  };
  if (!full) return base;
  const api = `${urls.api}/2.0/repositories/${repo.workspace}/${repo.slug}`;
  const host = new URL(urls.site).hostname;
  return {
    ...base,
    slug: repo.slug,
    description: repo.description,
    fork_policy: "no_public_forks",
    created_on: repo.createdOn,
    updated_on: new Date().toISOString(),
    size: 0,
    language: "",
    has_issues: false,
    has_wiki: false,
    mainbranch: { name: repo.mainBranch, type: "branch" },
    links: {
      ...repoLinks(urls, repo),
      pullrequests: href(`${api}/pullrequests`),
      commits: href(`${api}/commits`),
      forks: href(`${api}/forks`),
      watchers: href(`${api}/watchers`),
      branches: href(`${api}/refs/branches`),
      tags: href(`${api}/refs/tags`),
      downloads: href(`${api}/downloads`),
      source: href(`${api}/src`),
      hooks: href(`${api}/hooks`),
      clone: [
        { name: "https", href: `${urls.site}/${repo.workspace}/${repo.slug}.git` },
        { name: "ssh", href: `git@${host}:${repo.workspace}/${repo.slug}.git` },
      ],
    },
  };
}

function ownerOf(team: Json): Json {
  const { username, display_name, type, uuid, links } = team;
  return { username, display_name, type, uuid, links };
}

export function commitLinks(urls: Urls, repo: RepositoryRecord, hash: string, extra = false): Json {
  const api = `${urls.api}/2.0/repositories/${repo.workspace}/${repo.slug}`;
  const links: Json = { self: href(`${api}/commit/${hash}`), html: href(`${urls.site}/${repo.workspace}/${repo.slug}/commits/${hash}`) };
  if (extra) {
    links.comments = href(`${api}/commit/${hash}/comments`);
    links.patch = href(`${api}/patch/${hash}`);
    links.diff = href(`${api}/diff/${hash}`);
    links.approve = href(`${api}/commit/${hash}/approve`);
    links.statuses = href(`${api}/commit/${hash}/statuses`);
  }
  return links;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function authorObject(urls: Urls, dev: Developer, author: CommitAuthor): Json {
  const a: Json = { raw: `${author.name} <${author.email}>`, type: "author" };
  if (author.email === dev.email) a.user = userAccount(urls, dev);
  return a;
}

/** A commit as push changes and GET …/commit/{hash} carry it. */
export function commitObject(urls: Urls, dev: Developer, repo: RepositoryRecord, spec: CommitSpec, extraLinks = false): Json {
  const message = spec.message ?? `Commit ${spec.hash.slice(0, 7)}\n`;
  const author = spec.author ?? { name: dev.name, email: dev.email };
  return {
    rendered: {},
    hash: spec.hash,
    links: commitLinks(urls, repo, spec.hash, extraLinks),
    author: authorObject(urls, dev, author),
    summary: { raw: message, markup: "markdown", html: `<p>${escapeHtml(message.trim())}</p>`, type: "rendered" },
    parents: (spec.parents ?? []).map((p) => ({ hash: p, type: "commit", links: commitLinks(urls, repo, p) })),
    date: spec.date ?? new Date().toISOString().replace(/\.\d{3}Z$/, "+00:00"),
    message,
    type: "commit",
    properties: {},
  };
}
