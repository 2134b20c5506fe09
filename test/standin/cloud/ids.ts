import { randomBytes, randomUUID } from "node:crypto";

/** A Bitbucket uuid as it appears in payloads: "{…}". */
export function bracedUuid(): string {
  return `{${randomUUID()}}`;
}

/** A shared secret like the ones Bitbucket hands out at install. */
export function randomSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** An opaque access token (Bitbucket's are long base64 strings). */
export function randomAccessToken(): string {
  return randomBytes(48).toString("base64url");
}

/** An Atlassian account id ("557058:<uuid>"). */
export function accountId(): string {
  return `557058:${randomUUID()}`;
}
