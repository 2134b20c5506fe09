import express from "express";
import type http from "node:http";
import type net from "node:net";
import { qshOf } from "../../../src/forges/cloud-connect/jwt/qsh";
import { decodeUnverified, hasValidHs256Signature, hmacKey, type ConnectClaims } from "../../../src/forges/cloud-connect/jwt/token";
import { outgoingAuthorization } from "../../../src/forges/cloud-connect/jwt/outgoing";

/**
 * A tiny Connect app for testing the stand-in: serves a descriptor under a base path, verifies lifecycle and
 * webhook JWTs (signature with the stored secret, iss/aud, exp, qsh with the project's qsh code) the way ACE
 * does, and can call Bitbucket as the app would, knowing its URLs only from the install payload.
 */

export const APP_KEY = "pipelines-standin-test";
export const BASE_PATH = "/app";

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
  claims: ConnectClaims | null;
  /** Why the app refused the request; null when it accepted it. */
  refused: string | null;
  status: number;
}

export interface Tenant {
  clientKey: string;
  sharedSecret: string;
  baseUrl: string;
  baseApiUrl: string;
  installed: boolean;
}

export interface FakeConnectApp {
  baseUrl: string;
  received: Received[];
  tenants: Map<string, Tenant>;
  /** Statuses the webhook route answers next (then 204). "drop" destroys the socket, "hang" never answers. */
  webhookAnswers: (number | "drop" | "hang")[];
  /** Calls Bitbucket's API as the app: a JWT for exactly this call, signed with the tenant's secret. */
  api(clientKey: string, method: string, pathAndQuery: string, body?: unknown): Promise<{ status: number; json: unknown; headers: Headers; text: string }>;
  /** The JWT grant as the app does it: POST {baseUrl}/site/oauth2/access_token. */
  accessToken(clientKey: string): Promise<{ status: number; json: Record<string, unknown> }>;
  stop(): Promise<void>;
}

export const SCOPES = ["account:write", "team", "repository:write", "pullrequest:write", "webhook"];

type Verdict = { claims: ConnectClaims | null; refused: string | null; status: number };

export async function startFakeConnectApp(): Promise<FakeConnectApp> {
  const received: Received[] = [];
  const tenants = new Map<string, Tenant>();
  const webhookAnswers: (number | "drop" | "hang")[] = [];
  const app = express();
  const router = express.Router();
  let baseUrl = "";

  /** ACE's order: read iss unverified, find the tenant, verify with its secret; qsh of this request. */
  function verify(req: express.Request, secret: string | null, allowUnsigned = false): Verdict {
    const header = req.headers.authorization;
    if (!header) return allowUnsigned ? { claims: null, refused: null, status: 204 } : { claims: null, refused: "no JWT", status: 401 };
    const m = /^JWT (.+)$/.exec(header);
    if (!m) return { claims: null, refused: "not a JWT header", status: 401 };
    let decoded;
    try {
      decoded = decodeUnverified(m[1]);
    } catch {
      return { claims: null, refused: "unparseable JWT", status: 401 };
    }
    const claims = decoded.claims;
    if (secret === null) {
      const tenant = typeof claims.iss === "string" ? tenants.get(claims.iss) : undefined;
      if (!tenant) return { claims, refused: "unknown issuer", status: 401 };
      secret = tenant.sharedSecret;
    }
    if (!hasValidHs256Signature(decoded, hmacKey(secret))) return { claims, refused: "bad signature", status: 400 };
    if (claims.iss !== claims.aud) return { claims, refused: "iss != aud", status: 401 };
    if (typeof claims.exp !== "number" || claims.exp * 1000 <= Date.now()) return { claims, refused: "expired", status: 401 };
    const url = new URL(req.originalUrl, "http://app.invalid");
    const expected = qshOf(req.method, url.pathname, url.search, BASE_PATH);
    if (claims.qsh !== expected) return { claims, refused: "qsh mismatch", status: 401 };
    return { claims, refused: null, status: 204 };
  }

  function record(req: express.Request, v: Verdict): Received {
    const r: Received = { path: req.originalUrl, headers: req.headers, body: req.body as Record<string, unknown>, claims: v.claims, refused: v.refused, status: v.status };
    received.push(r);
    return r;
  }

  router.get("/atlassian-connect.json", (_req, res) => {
    res.json({
      key: APP_KEY,
      name: "Pipelines stand-in test",
      baseUrl,
      authentication: { type: "jwt" },
      lifecycle: { installed: "/installed", uninstalled: "/uninstalled" },
      modules: {
        webhooks: [
          { event: "repo:push", url: "/webhooks/bitbucket" },
          { event: "pullrequest:created", url: "/webhooks/bitbucket" },
          { event: "pullrequest:fulfilled", url: "/webhooks/bitbucket?kind=pr" },
        ],
      },
      scopes: SCOPES,
      contexts: ["account"],
    });
  });

  router.post("/installed", (req, res) => {
    const body = req.body as Record<string, unknown>;
    const clientKey = String(body.clientKey ?? "");
    const known = tenants.get(clientKey);
    // A first install may come unsigned; a re-install must be signed with the stored secret.
    const v = known ? verify(req, known.sharedSecret) : verify(req, String(body.sharedSecret ?? "-"), true);
    const missing = ["clientKey", "sharedSecret", "baseUrl", "baseApiUrl", "key", "productType"].filter((f) => typeof body[f] !== "string");
    if (!v.refused && missing.length > 0) {
      v.refused = `missing ${missing.join(", ")}`;
      v.status = 400;
    }
    record(req, v);
    if (v.refused) {
      res.status(v.status).json({ refused: v.refused });
      return;
    }
    tenants.set(clientKey, {
      clientKey,
      sharedSecret: String(body.sharedSecret),
      baseUrl: String(body.baseUrl),
      baseApiUrl: String(body.baseApiUrl),
      installed: true,
    });
    res.status(204).end();
  });

  router.post("/uninstalled", (req, res) => {
    const v = verify(req, tenants.get(String((req.body as Record<string, unknown>).clientKey))?.sharedSecret ?? "unknown");
    record(req, v);
    if (v.refused) {
      res.status(v.status).json({ refused: v.refused });
      return;
    }
    const t = tenants.get(String((req.body as Record<string, unknown>).clientKey));
    if (t) t.installed = false;
    res.status(204).end();
  });

  router.post("/webhooks/bitbucket", (req, res) => {
    const v = verify(req, null);
    const r = record(req, v);
    if (v.refused) {
      res.status(v.status).json({ refused: v.refused });
      return;
    }
    const answer = webhookAnswers.shift() ?? 204;
    if (answer === "drop" || answer === "hang") {
      r.status = 0;
      if (answer === "drop") req.socket.destroy();
      return;
    }
    r.status = answer;
    res.status(answer).end();
  });

  app.use(express.json({ limit: "5mb" }));
  app.use(BASE_PATH, router);

  const server = await new Promise<http.Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  baseUrl = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}${BASE_PATH}`;

  function tenant(clientKey: string): Tenant {
    const t = tenants.get(clientKey);
    if (!t) throw new Error(`the fake app has no tenant ${clientKey}`);
    return t;
  }

  return {
    baseUrl,
    received,
    tenants,
    webhookAnswers,
    async api(clientKey, method, pathAndQuery, body) {
      const t = tenant(clientKey);
      const url = `${t.baseApiUrl}${pathAndQuery}`;
      const headers: Record<string, string> = {
        Authorization: outgoingAuthorization({ appKey: APP_KEY, clientKey, key: t.sharedSecret, method, url, baseUrl: t.baseApiUrl }),
      };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      let json: unknown = undefined;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: res.status, json, headers: res.headers, text };
    },
    async accessToken(clientKey) {
      const t = tenant(clientKey);
      const url = `${t.baseUrl}/site/oauth2/access_token`;
      const res = await fetch(url, {
        method: "POST",
        headers: {
          Authorization: outgoingAuthorization({ appKey: APP_KEY, clientKey, key: t.sharedSecret, method: "POST", url, baseUrl: t.baseUrl }),
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: "grant_type=urn%3Abitbucket%3Aoauth2%3Ajwt",
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
