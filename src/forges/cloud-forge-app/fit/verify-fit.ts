import type { Request } from "express";
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { HttpError, unauthorized } from "../../../http/http-error";
import { fitClaims, type FitClaims } from "./fit-claims";

/** Forge signs invocation tokens with asymmetric keys only: HS* (a shared secret) and `none` are never accepted. */
const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
export const FIT_ISSUER = "forge/invocation-token";
/** Clock skew tolerated on `exp` and `nbf`. */
const LEEWAY_SECONDS = 30;

export interface FitVerifierOptions {
  appId: string;
  jwksUrl: string;
  /** After a fetch, no new one for this long even when a token names an unknown key (jose's cooldown). Default 30 s. */
  cooldownMs?: number;
  /** How long fetched keys are used before they are fetched again. Default 10 min. */
  cacheMaxAgeMs?: number;
}

export type FitVerifier = (req: Request) => Promise<FitClaims>;

/**
 * Verifies the `Authorization: Bearer <Forge Invocation Token>` of a call from Forge, in two steps:
 * 1. the JWT itself: signed by a key of Forge's JWKS (fetched and cached; a token naming a key not in the cached set
 *    fetches it again, so Forge's key rotation is followed), with the algorithm of that key (never `none`, never HS*),
 *    `iss` forge/invocation-token, `aud` this app's id, unexpired (`exp` required, `exp`/`nbf` with 30 s leeway);
 * 2. its claims: the installation id and the API base URL must be there.
 * Anything else is a 401 whose message says what was wrong; the caller stores nothing before this passes.
 */
export function fitVerifier(opts: FitVerifierOptions): FitVerifier {
  const jwks: JWTVerifyGetKey = createRemoteJWKSet(new URL(opts.jwksUrl), {
    cooldownDuration: opts.cooldownMs ?? 30_000,
    cacheMaxAge: opts.cacheMaxAgeMs ?? 10 * 60_000,
    timeoutDuration: 5_000,
  });
  return async (req) => {
    const header = req.get("Authorization") ?? "";
    const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
    if (!m) throw unauthorized("a Forge invocation token is required (Authorization: Bearer <token>)");
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(m[1], jwks, {
        issuer: FIT_ISSUER,
        audience: opts.appId,
        algorithms: ALGORITHMS,
        clockTolerance: LEEWAY_SECONDS,
        requiredClaims: ["exp"],
      }));
    } catch (err) {
      // Forge's keys could not be had (network, timeout, a broken answer): not the token's fault. 503 makes Forge
      // retry the call later; 401 would tell it the token is bad.
      if (keysUnavailable(err)) throw new HttpError(503, `Forge's keys could not be fetched to verify the invocation token: ${(err as Error).message}`, { "Retry-After": "5" });
      throw unauthorized(`the Forge invocation token is invalid: ${reason(err)}`);
    }
    return fitClaims(payload);
  };
}

/** The JWKS could not be fetched or read (as opposed to a token that fails against keys we have). */
function keysUnavailable(err: unknown): boolean {
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return true;
  return !(err instanceof errors.JOSEError) && !(err instanceof TypeError && /Invalid Compact JWS|Invalid JWT/i.test(err.message));
}

function reason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return "it has expired";
  if (err instanceof errors.JWTClaimValidationFailed) return `${err.claim} ${err.reason === "check_failed" ? "is not the expected value" : err.reason.replace(/_/g, " ")}`;
  if (err instanceof errors.JWKSNoMatchingKey) return "it is not signed by a key of Forge's JWKS";
  if (err instanceof errors.JOSEAlgNotAllowed) return "its algorithm is not allowed (asymmetric keys only)";
  if (err instanceof errors.JWSSignatureVerificationFailed) return "the signature does not verify";
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JOSEError) return err.message;
  return (err as Error).message;
}
