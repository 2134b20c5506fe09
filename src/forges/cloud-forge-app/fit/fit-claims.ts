import { unauthorized } from "../../../http/http-error";

/** What a verified Forge Invocation Token says, in the shape the rest of the Forge door uses. */
export interface FitClaims {
  /** `ari:cloud:ecosystem::app/<uuid>` (the token's audience). */
  appId: string;
  /** `app.installationId`: changes when the app is reinstalled. */
  installationId: string;
  /** `app.apiBaseUrl`: where Bitbucket's REST API is called with the app's system token. */
  apiBaseUrl: string;
  environmentId: string | null;
  /** `app.environment.type` in lower case (`production`, …): the environment key in the app's page addresses. */
  environmentKey: string | null;
  /** The workspaces (`{uuid}`) the installation covers (`app.installation.contexts`). */
  workspaceUuids: string[];
  /** UI calls only: the workspace (`{uuid}`) and repository (`{uuid}`) the page is shown for (`context`). */
  contextWorkspaceUuid: string | null;
  contextRepositoryUuid: string | null;
  /** UI calls only: the Bitbucket user (`principal`). */
  principal: string | null;
}

const UUID = /^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$/;
const WORKSPACE_ARI = /^ari:cloud:bitbucket::workspace\/(.+)$/;

/** `{uuid}` in lower case, from `uuid`, `{uuid}` or a workspace ARI; null for anything else. */
export function bracedUuid(raw: unknown): string | null {
  if (typeof raw !== "string") return null;
  const ari = WORKSPACE_ARI.exec(raw);
  const m = UUID.exec(ari ? ari[1] : raw);
  return m ? `{${m[1].toLowerCase()}}` : null;
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** The workspace of one `app.installation.contexts[]` entry: `{workspaceId}` or the workspace's ARI. */
function contextWorkspace(entry: unknown): string | null {
  if (typeof entry === "string") return bracedUuid(entry);
  const e = obj(entry);
  return bracedUuid(e.workspaceId ?? e.workspaceUuid ?? e.id);
}

/** The claims of a token whose signature, issuer, audience and lifetime were already verified. */
export function fitClaims(payload: Record<string, unknown>): FitClaims {
  const app = obj(payload.app);
  const installation = obj(app.installation);
  const environment = obj(app.environment);
  const installationId = typeof app.installationId === "string" ? app.installationId : typeof installation.id === "string" ? installation.id : "";
  const apiBaseUrl = typeof app.apiBaseUrl === "string" ? app.apiBaseUrl : "";
  if (!installationId) throw unauthorized("the invocation token has no app.installationId");
  let api: URL;
  try {
    api = new URL(apiBaseUrl);
  } catch {
    throw unauthorized("the invocation token has no usable app.apiBaseUrl");
  }
  if (api.protocol !== "https:" && api.protocol !== "http:") throw unauthorized("the invocation token's app.apiBaseUrl is not http(s)");
  const contexts = Array.isArray(installation.contexts) ? installation.contexts : [];
  const workspaceUuids = [...new Set(contexts.map(contextWorkspace).filter((w): w is string => w !== null))];
  const context = obj(payload.context);
  const extension = obj(context.extension);
  const principal = payload.principal;
  return {
    appId: String(app.id ?? ""),
    installationId,
    apiBaseUrl: apiBaseUrl.replace(/\/+$/, ""),
    environmentId: typeof environment.id === "string" ? environment.id : null,
    environmentKey: typeof environment.type === "string" && /^[A-Za-z_-]{1,32}$/.test(environment.type) ? environment.type.toLowerCase() : null,
    workspaceUuids,
    contextWorkspaceUuid: bracedUuid(context.workspaceId),
    contextRepositoryUuid: bracedUuid(obj(extension.repository).uuid),
    principal: typeof principal === "string" ? principal : typeof obj(principal).accountId === "string" ? String(obj(principal).accountId) : null,
  };
}
