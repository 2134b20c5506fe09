import type http from "node:http";
import { qshOf } from "../../../src/forges/cloud-connect/jwt/qsh";
import { signHs256, type ConnectClaims } from "../../../src/forges/cloud-connect/jwt/token";
import { appBasePath } from "./descriptor";
import { randomSecret } from "./ids";
import type { State } from "./state";
import type { TokenStore } from "./tokens";
import type { JwtSabotage } from "./types";

/** What the lifecycle and webhook senders share. */
export interface SenderContext {
  state: State;
  tokens: TokenStore;
  inflight: Set<http.ClientRequest>;
  /** Base64 DER (SPKI) of the stand-in's RSA public key, sent as `publicKey` like Bitbucket's. */
  publicKey: string;
  webhookRetryDelayMs: number;
  /** True once stop() began: no new attempts are made. */
  stopped(): boolean;
}

/**
 * The claims Bitbucket puts in the JWT of a request it makes to the app: iss = aud = clientKey, an hour of
 * validity, and the qsh of this request relative to the app's base URL.
 */
export function claimsForAppRequest(clientKey: string, method: string, url: string, appBaseUrl: string): ConnectClaims {
  const target = new URL(url);
  const iat = Math.floor(Date.now() / 1000);
  return { iss: clientKey, iat, qsh: qshOf(method, target.pathname, target.search, appBasePath(appBaseUrl)), aud: clientKey, exp: iat + 3600 };
}

/** The Authorization header for a request to the app, honouring the sabotage options tests use. */
export function authorizationFor(claims: ConnectClaims, secret: string | null, sabotage: JwtSabotage | undefined): string | undefined {
  if (sabotage === "none") return undefined;
  if (sabotage === "forged") return `JWT ${signHs256(claims, randomSecret())}`;
  if (typeof sabotage === "string") return `JWT ${sabotage}`;
  if (secret === null) return undefined;
  if (sabotage && typeof sabotage === "object") {
    const merged: ConnectClaims = { ...claims };
    for (const [k, v] of Object.entries(sabotage)) {
      if (v === undefined) delete merged[k];
      else merged[k] = v;
    }
    return `JWT ${signHs256(merged, secret)}`;
  }
  return `JWT ${signHs256(claims, secret)}`;
}
