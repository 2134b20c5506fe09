import { serverMessage, serverRequest, type ServerCredentials } from "./server-api";

export type AddKeyOutcome = { added: true } | { added: false; reason: string };

/**
 * Adds the workspace's public key to the connection's user on the Server (`POST /rest/ssh/1.0/keys`), so clones over
 * SSH work without a person copying it. The credentials may not allow it (a token without the scope, SSH disabled,
 * a plugin missing): then the outcome says why, and the key has to be added by hand.
 */
export async function addKeyToServerUser(c: ServerCredentials, publicKey: string, label: string): Promise<AddKeyOutcome> {
  let res;
  try {
    res = await serverRequest(c, "POST", "/rest/ssh/1.0/keys", { text: publicKey, label });
  } catch (err) {
    return { added: false, reason: `the server could not be reached (${(err as Error).message})` };
  }
  if (res.status === 201 || res.status === 200) return { added: true };
  if (res.status === 409) return { added: false, reason: `the server already has this key (${serverMessage(res)})` };
  return { added: false, reason: `the server answered HTTP ${res.status}: ${serverMessage(res)}` };
}
