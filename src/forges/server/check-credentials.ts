import { serverMessage, serverRequest, type ServerCredentials } from "./server-api";

/** Credentials that cannot be used, with a message a person can act on. */
export class ServerCredentialsError extends Error {
  constructor(
    readonly reason: "unreachable" | "tls" | "unauthorized" | "forbidden" | "not-bitbucket",
    message: string,
  ) {
    super(message);
    this.name = "ServerCredentialsError";
  }
}

const TLS_CODES = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/i;

/**
 * "Add Credentials": checks the host is a Bitbucket Server and the credentials are good.
 * 1. `GET /rest/api/1.0/application-properties` (anonymous-readable): the host answers and is Bitbucket;
 * 2. `GET /rest/api/1.0/users/{username}` with the credentials: 401 → wrong password/token; 403 → no permission;
 * 3. `GET /rest/api/1.0/repos?limit=1`: the user can see repositories (a user with no access at all is refused).
 * Returns the server's version and the user's display name.
 */
export async function checkServerCredentials(c: ServerCredentials): Promise<{ version: string; displayName: string }> {
  const call = async (path: string) => {
    try {
      return await serverRequest(c, "GET", path);
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message ?? (err as Error).message;
      if (TLS_CODES.test(String(cause?.code ?? "")) || TLS_CODES.test(String(cause?.message ?? ""))) {
        throw new ServerCredentialsError("tls", `the TLS connection to ${c.host} failed (${detail}): is the certificate valid and trusted by this machine?`);
      }
      if ((err as Error).name === "TimeoutError") throw new ServerCredentialsError("unreachable", `${c.host} did not answer within 15 seconds`);
      throw new ServerCredentialsError("unreachable", `${c.host} cannot be reached (${detail})`);
    }
  };
  const props = await call("/rest/api/1.0/application-properties");
  if (props.status === 401) throw new ServerCredentialsError("unauthorized", `${c.host} refused the ${c.authKind === "token" ? "access token" : "username or password"} (HTTP 401)`);
  let version = "";
  try {
    version = String(props.json<{ version?: unknown }>().version ?? "");
  } catch {
    /* checked below */
  }
  if (props.status !== 200 || !version) throw new ServerCredentialsError("not-bitbucket", `${c.host} does not look like Bitbucket Server (application-properties answered HTTP ${props.status})`);
  const user = await call(`/rest/api/1.0/users/${encodeURIComponent(c.username)}`);
  if (user.status === 401) throw new ServerCredentialsError("unauthorized", `${c.host} refused the ${c.authKind === "token" ? "access token" : "username or password"} of ${c.username} (HTTP 401)`);
  if (user.status === 403) throw new ServerCredentialsError("forbidden", `${c.username} has no permission to use ${c.host}: ${serverMessage(user)}`);
  if (user.status === 404) throw new ServerCredentialsError("unauthorized", `${c.host} has no user ${c.username}`);
  if (user.status !== 200) throw new ServerCredentialsError("unreachable", `${c.host} answered HTTP ${user.status} for the user ${c.username}`);
  const repos = await call("/rest/api/1.0/repos?limit=1");
  if (repos.status === 401 || repos.status === 403) throw new ServerCredentialsError("forbidden", `${c.username} has no permission to read repositories on ${c.host} (HTTP ${repos.status})`);
  const displayName = String(user.json<{ displayName?: unknown }>().displayName ?? c.username);
  return { version, displayName };
}
