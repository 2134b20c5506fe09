import { createHash, generateKeyPair, type KeyObject } from "node:crypto";

/** The public half of an RSA signing key as a JWK carries it: modulus and exponent, base64url. */
export interface RsaPublicJwk {
  n: string;
  e: string;
}

export interface RsaKeyPair {
  kid: string;
  publicJwk: RsaPublicJwk;
  /** PKCS#8 PEM: the only form in which the private half leaves this module (to be sealed). */
  privatePem: string;
}

/** 2048 bits: what AWS STS, Google STS and Vault accept for RS256, and what other CI issuers publish. */
const MODULUS_BITS = 2048;

/** A new RSA key pair, generated off the event loop (it takes tens to hundreds of milliseconds). */
export function generateRsaKeyPair(): Promise<RsaKeyPair> {
  return new Promise((resolve, reject) => {
    generateKeyPair("rsa", { modulusLength: MODULUS_BITS, publicExponent: 0x10001 }, (err, publicKey, privateKey) => {
      if (err) return reject(err);
      const publicJwk = rsaPublicJwk(publicKey);
      resolve({ kid: jwkThumbprint(publicJwk), publicJwk, privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString() });
    });
  });
}

function rsaPublicJwk(key: KeyObject): RsaPublicJwk {
  const jwk = key.export({ format: "jwk" });
  if (typeof jwk.n !== "string" || typeof jwk.e !== "string") throw new Error("not an RSA public key");
  return { n: jwk.n, e: jwk.e };
}

/** RFC 7638 thumbprint (SHA-256, base64url) of an RSA public key: a `kid` that names exactly that key. */
export function jwkThumbprint(jwk: RsaPublicJwk): string {
  return createHash("sha256").update(JSON.stringify({ e: jwk.e, kty: "RSA", n: jwk.n })).digest("base64url");
}
