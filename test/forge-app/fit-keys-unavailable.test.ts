import assert from "node:assert/strict";
import type { Request } from "express";
import { generateKeyPair, SignJWT } from "jose";
import { fitVerifier } from "../../src/forges/cloud-forge-app/fit/verify-fit";
import { HttpError } from "../../src/http/http-error";
import { freePort } from "../runner-api/support";

/** When Forge's keys cannot be fetched, a call is answered 503 (Forge retries), not 401 (its token would be called bad). */
describe("Forge invocation tokens when Forge's JWKS cannot be reached", () => {
  it("answers 503 with Retry-After, naming the fetch that failed", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const token = await new SignJWT({ app: { installationId: "x", apiBaseUrl: "https://api.atlassian.com" } })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer("forge/invocation-token")
      .setAudience("ari:cloud:ecosystem::app/00000000-0000-0000-0000-000000000000")
      .setExpirationTime("5m")
      .sign(privateKey);
    const port = await freePort();
    const verify = fitVerifier({ appId: "ari:cloud:ecosystem::app/00000000-0000-0000-0000-000000000000", jwksUrl: `http://127.0.0.1:${port}/jwks.json` });
    const req = { get: (name: string) => (name.toLowerCase() === "authorization" ? `Bearer ${token}` : undefined) } as unknown as Request;
    await assert.rejects(verify(req), (err: unknown) => {
      assert.ok(err instanceof HttpError);
      assert.equal(err.status, 503);
      assert.equal(err.headers["Retry-After"], "5");
      assert.match(err.message, /Forge's keys could not be fetched/);
      return true;
    });
  });
});
