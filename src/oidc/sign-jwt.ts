import { sign, type KeyObject } from "node:crypto";

/** A compact JWS, RS256 (RSASSA-PKCS1-v1_5 with SHA-256), `typ: JWT`, naming its key by `kid`. */
export function signRs256Jwt(claims: Record<string, unknown>, key: KeyObject, kid: string): string {
  const header = b64(JSON.stringify({ alg: "RS256", typ: "JWT", kid }));
  const payload = b64(JSON.stringify(claims));
  const signature = sign("sha256", Buffer.from(`${header}.${payload}`), key).toString("base64url");
  return `${header}.${payload}.${signature}`;
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64url");
