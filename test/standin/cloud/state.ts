import type { Descriptor } from "./descriptor";
import { accountId, bracedUuid } from "./ids";
import { OAuthState } from "./oauth-state";
import type { GitCall, PullRequestSpec, RecordedCall, StatusRecord } from "./types";

/** Everything the stand-in remembers: workspaces, installations, repositories and what the app did to them. */

export interface Urls {
  site: string;
  api: string;
}

export interface WorkspaceRecord {
  slug: string;
  uuid: string;
  name: string;
  projectUuid: string;
  createdOn: string;
}

export interface InstallRecord {
  clientKey: string;
  appKey: string;
  workspace: string;
  appBaseUrl: string;
  descriptor: Descriptor;
  /** Every shared secret the app accepted, oldest first; the last is the current one. */
  secrets: string[];
  installed: boolean;
  /** X-Hook-UUID per event, stable for the installation. */
  hookUuids: Map<string, string>;
  /** An OAuth user's token acts in every workspace the user belongs to (oauth.ts); a Connect install in one. */
  workspaces?: string[];
  oauthUser?: string;
}

/** Whether the installation (or OAuth user) may act in the workspace. */
export function memberOf(inst: InstallRecord, workspace: string): boolean {
  return inst.workspaces ? inst.workspaces.includes(workspace) : inst.workspace === workspace;
}

export interface HookRecord {
  uuid: string;
  description: string;
  url: string;
  active: boolean;
  events: string[];
  secretSet: boolean;
  /** The secret a plain (non-Connect) webhook is signed with (X-Hub-Signature). */
  secret?: string | null;
  createdAt: string;
  clientKey: string | null;
}

export interface SshKeyRecord {
  uuid: string;
  key: string;
  label: string;
  comment: string;
  owner: string;
  createdOn: string;
  clientKey: string | null;
}

export interface RepositoryRecord {
  workspace: string;
  slug: string;
  uuid: string;
  name: string;
  description: string;
  mainBranch: string;
  isPrivate: boolean;
  createdOn: string;
  gitDir: string;
  pullRequests: Map<number, PullRequestSpec>;
  /** Latest status per commit hash and key. */
  statuses: Map<string, Map<string, StatusRecord>>;
  /** Every status ever posted, in order. */
  statusHistory: StatusRecord[];
  hooks: Map<string, HookRecord>;
  /**
   * Permissions given on the repository, by account id: what `…/permissions/repositories…` answers. The developer
   * who pushes is its admin, an OAuth user its admin when they own the workspace and a writer otherwise, unless set
   * here (`none` takes a permission away).
   */
  permissions: Map<string, RepositoryPermission>;
}

export type RepositoryPermission = "admin" | "write" | "read" | "none";

export interface Developer {
  name: string;
  email: string;
  uuid: string;
  accountId: string;
}

export class State {
  readonly urls: Urls = { site: "", api: "" };
  readonly workspaces = new Map<string, WorkspaceRecord>();
  readonly installs = new Map<string, InstallRecord>();
  readonly repositories = new Map<string, RepositoryRecord>();
  readonly grantedScopes = new Map<string, string[]>();
  readonly sshKeys = new Map<string, SshKeyRecord>();
  readonly oauth = new OAuthState();
  readonly calls: RecordedCall[] = [];
  readonly gitCalls: GitCall[] = [];
  /** The person who "pushes" in the stand-in: author of commits, actor of webhooks. */
  readonly developer: Developer = { name: "Stand-in Developer", email: "developer@standin.example", uuid: bracedUuid(), accountId: accountId() };

  /** The workspace with this slug, created (with a new uuid) the first time it is named. */
  workspace(slug: string): WorkspaceRecord {
    let ws = this.workspaces.get(slug);
    if (!ws) {
      if (!/^[a-z0-9][a-z0-9_-]*$/.test(slug)) throw new Error(`"${slug}" is not a valid workspace slug (lower-case letters, digits, - and _)`);
      ws = { slug, uuid: bracedUuid(), name: slug.replace(/[-_]+/g, " "), projectUuid: bracedUuid(), createdOn: new Date().toISOString() };
      this.workspaces.set(slug, ws);
    }
    return ws;
  }

  /** A workspace by slug or "{uuid}", without creating it. */
  findWorkspace(slugOrUuid: string): WorkspaceRecord | undefined {
    const bySlug = this.workspaces.get(slugOrUuid);
    if (bySlug) return bySlug;
    return [...this.workspaces.values()].find((w) => w.uuid === slugOrUuid);
  }

  /** A repository by workspace (slug or uuid) and slug (or uuid). */
  findRepository(workspace: string, slug: string): RepositoryRecord | undefined {
    const ws = this.findWorkspace(workspace);
    if (!ws) return undefined;
    const direct = this.repositories.get(`${ws.slug}/${slug}`);
    if (direct) return direct;
    return [...this.repositories.values()].find((r) => r.workspace === ws.slug && r.uuid === slug);
  }

  repository(workspace: string, slug: string): RepositoryRecord {
    const repo = this.findRepository(workspace, slug);
    if (!repo) throw new Error(`no repository ${workspace}/${slug} in the stand-in (createRepository first)`);
    return repo;
  }

  install(clientKey: string): InstallRecord {
    const inst = this.installs.get(clientKey);
    if (!inst) throw new Error(`the stand-in never installed anything as ${clientKey}`);
    return inst;
  }

  /** The scopes granted to an installation: the workspace override, else what its descriptor asked for. */
  scopesOf(inst: InstallRecord): string[] {
    return this.grantedScopes.get(inst.workspace) ?? inst.descriptor.scopes ?? [];
  }
}
