import assert from "node:assert/strict";
import { canonicalRequest, qshOf } from "../../../src/forges/cloud-connect/jwt/qsh";
import { decodeUnverified, hasValidHs256Signature, hmacKey } from "../../../src/forges/cloud-connect/jwt/token";
import { fixture } from "../../support/install";

interface SignedVector {
  name: string;
  input: { method: string; signedUrl: string; path: string; addonBaseUrl: string };
  expected: { canonicalRequest: string; qsh: string; token: string };
}
interface UnitVector {
  name: string;
  input: { method: string; originalUrl: string | null; rawQuery: string | null; rawBody: string | null; checkBodyForParams: boolean; baseUrl: string | null };
  expected: { canonicalRequest?: string; qsh?: string };
}
const vectors = fixture<{
  signedUrlInteroperability: { secret: string; vectors: SignedVector[] }[];
  unitVectors: { vectors: UnitVector[] };
}>("jwt/qsh-vectors.json");

describe("qsh: Atlassian Connect interoperability vectors", () => {
  for (const group of vectors.signedUrlInteroperability) {
    group.vectors.forEach((v, i) => {
      it(`#${i + 1} ${v.name}`, () => {
        const url = new URL(v.input.signedUrl);
        const rawQuery = url.search.slice(1);
        const path = v.input.signedUrl.slice(url.origin.length).split("?")[0];
        assert.equal(canonicalRequest(v.input.method, path, rawQuery, v.input.addonBaseUrl), v.expected.canonicalRequest);
        assert.equal(qshOf(v.input.method, path, rawQuery, v.input.addonBaseUrl), v.expected.qsh);
        const decoded = decodeUnverified(v.expected.token);
        assert.equal(decoded.claims.qsh, v.expected.qsh);
        assert.ok(hasValidHs256Signature(decoded, hmacKey(group.secret)), "the vector's token verifies with its secret");
      });
    });
  }
});

describe("qsh: atlassian-jwt canonical-request unit vectors", () => {
  for (const v of vectors.unitVectors.vectors) {
    it(v.name, () => {
      const basePath = v.input.baseUrl ? new URL(v.input.baseUrl, "http://x").pathname : "";
      // Form-encoded POST bodies stand in for the query only when the signer asked for it; our routes take JSON.
      const query = v.input.checkBodyForParams && !v.input.rawQuery ? v.input.rawBody : v.input.rawQuery;
      const path = v.input.originalUrl ?? "";
      if (v.expected.canonicalRequest) assert.equal(canonicalRequest(v.input.method, path, query, basePath), v.expected.canonicalRequest);
      if (v.expected.qsh) assert.equal(qshOf(v.input.method, path, query, basePath), v.expected.qsh);
    });
  }
});

describe("qsh: real Bitbucket deliveries recomputed from their path", () => {
  const deliveries: [string, string][] = [
    ["lifecycle_installed_team.json", "/bitbucket/install"],
    ["lifecycle_uninstalled_team.json", "/bitbucket/uninstall"],
    ["webhook_pullrequest_created.json", "/bitbucket/webhook"],
    ["webhook_pullrequest_updated.json", "/bitbucket/webhook"],
    ["webhook_repo_commit_status_created.json", "/bitbucket/webhook"],
    ["webhook_repo_push_create_branch.json", "/bitbucket/webhook"],
    ["webhook_repo_push_create_tag.json", "/bitbucket/webhook"],
    ["webhook_repo_push_delete_branch.json", "/bitbucket/webhook"],
    ["webhook_repo_push_pr_merge.json", "/bitbucket/webhook"],
  ];
  for (const [file, path] of deliveries) {
    it(`${file}: qsh of POST ${path}`, () => {
      const d = fixture<{ headers: Record<string, string> }>(`bitbucket/cloud/connect/${file}`);
      const auth = Object.entries(d.headers).find(([k]) => k.toLowerCase() === "authorization")![1];
      const claims = decodeUnverified(auth.replace(/^JWT /, "")).claims;
      assert.equal(claims.qsh, qshOf("POST", path, ""));
      assert.equal(claims.iss, claims.aud, "Bitbucket sets iss = aud = clientKey");
    });
  }
});
