import type { Models, Tenant } from "../db/models";
import { signRs256Jwt } from "./sign-jwt";
import { KEY_POLICY, publishedKeys, signingKey, type KeyPolicy } from "./signing-keys";
import { STEP_TOKEN_CLAIMS, stepTokenClaims, type StepTokenSubject } from "./step-claims";

export interface OidcIssuerOptions {
  models: Models;
  /** The service's public base URL (PIPELINES_BASE_URL): every issuer URL is under it. */
  baseUrl: string;
  /** The clock (tests move it to see keys rotate). */
  now?: () => Date;
  policy?: KeyPolicy;
}

/** An RSA public key in a JWKS. */
export interface PublicJwk {
  kty: "RSA";
  n: string;
  e: string;
  kid: string;
  alg: "RS256";
  use: "sig";
}

/** The path of an issuer under the base URL; `:issuerId` is the tenant's id. */
export const ISSUER_PATH = "/oidc/workspaces/:issuerId";

/** The issuer URL of a tenant's step tokens (its `iss`): `<base URL>/oidc/workspaces/<tenant id>`. */
export function issuerUrl(baseUrl: string, tenant: { id: number }): string {
  return `${baseUrl.replace(/\/+$/, "")}/oidc/workspaces/${tenant.id}`;
}

/**
 * The OpenID Connect issuers of this service, one per tenant (workspace, OAuth connection or Bitbucket Server
 * connection): `<base URL>/oidc/workspaces/<tenant id>`, like Bitbucket's
 * `https://api.bitbucket.org/2.0/workspaces/<workspace>/pipelines-config/identity/oidc`. Each has its own signing
 * keys, so a token of one workspace's issuer never verifies against another's keys, and its `iss` names it.
 * Only active tenants issue and answer; an uninstalled one is unknown.
 */
export class OidcIssuer {
  private readonly now: () => Date;
  private readonly policy: KeyPolicy;

  constructor(private readonly o: OidcIssuerOptions) {
    this.now = o.now ?? (() => new Date());
    this.policy = o.policy ?? KEY_POLICY;
  }

  issuerUrl(tenant: { id: number }): string {
    return issuerUrl(this.o.baseUrl, tenant);
  }

  jwksUrl(tenant: { id: number }): string {
    return `${this.issuerUrl(tenant)}/.well-known/jwks.json`;
  }

  /** The active tenant an issuer id in a URL names, or null. */
  async tenantOf(issuerId: string): Promise<Tenant | null> {
    if (!/^[1-9][0-9]{0,9}$/.test(issuerId)) return null;
    const tenant = await this.o.models.Tenant.findByPk(Number(issuerId));
    return tenant && tenant.status === "active" ? tenant : null;
  }

  /**
   * A signed token for a step (BITBUCKET_STEP_OIDC_TOKEN). It is a credential: hand it only to the step, never
   * log it.
   */
  async mintStepToken(subject: StepTokenSubject): Promise<string> {
    const now = this.now();
    const key = await signingKey(this.o.models, subject.tenant.id, now, this.policy);
    const claims = stepTokenClaims(this.issuerUrl(subject.tenant), subject, now, this.policy.maxTokenLifetimeMs);
    return signRs256Jwt({ ...claims }, key.privateKey, key.kid);
  }

  /** `<issuer>/.well-known/openid-configuration`. */
  discovery(tenant: { id: number }): Record<string, unknown> {
    return {
      issuer: this.issuerUrl(tenant),
      jwks_uri: this.jwksUrl(tenant),
      response_types_supported: ["id_token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
      scopes_supported: ["openid"],
      claims_supported: STEP_TOKEN_CLAIMS,
    };
  }

  /** The issuer's JWKS: the public keys that may have signed a token that has not expired yet, and the next one. */
  async jwks(tenant: { id: number }): Promise<{ keys: PublicJwk[] }> {
    const keys = await publishedKeys(this.o.models, tenant.id, this.now(), this.policy);
    return { keys: keys.map((k) => ({ kty: "RSA", n: k.jwk.n, e: k.jwk.e, kid: k.kid, alg: "RS256", use: "sig" })) };
  }
}
