import { createHash } from "node:crypto";

/**
 * Atlassian Connect query-string hash (qsh).
 *
 * canonicalRequest = UPPER(method) + "&" + canonicalPath + "&" + canonicalQuery
 * qsh              = hex(sha256(canonicalRequest))
 *
 * The query is canonicalised from the raw query string (as Atlassian's Java and Python signers do), not from
 * a parsed object: keys and values are form-decoded ("+" is a space), the `jwt` parameter is dropped, keys are
 * sorted by code unit, repeated values are sorted and joined with ",", and everything is re-encoded with
 * RFC 3986 rules (only ALPHA / DIGIT / "-" / "." / "_" / "~" stay as they are).
 */

/** The qsh value that marks a context token (from `AP.context.getToken()`). */
export const CONTEXT_QSH = "context-qsh";

export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

function formDecode(value: string): string {
  const spaced = value.replace(/\+/g, " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/**
 * The canonical path: `path` with the app's base path removed, "&" percent-encoded, a leading "/" and no
 * trailing "/" (except for the root itself).
 */
export function canonicalPath(path: string, basePath = ""): string {
  let p = path || "";
  const base = basePath.replace(/\/+$/, "");
  if (base && (p === base || p.startsWith(base + "/"))) p = p.slice(base.length);
  if (!p) return "/";
  p = p.replace(/&/g, "%26");
  if (!p.startsWith("/")) p = "/" + p;
  if (p.length > 1 && p.endsWith("/")) p = p.slice(0, -1);
  return p;
}

/** The canonical query string of a raw query (with or without a leading "?"), `jwt` excluded. */
export function canonicalQuery(rawQuery: string | null | undefined): string {
  const raw = (rawQuery ?? "").replace(/^\?/, "");
  const params = new Map<string, string[]>();
  for (const part of raw.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const key = formDecode(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? "" : formDecode(part.slice(eq + 1));
    if (key === "jwt") continue;
    const values = params.get(key);
    if (values) values.push(value);
    else params.set(key, [value]);
  }
  return [...params.keys()]
    .sort()
    .map((key) => {
      const values = (params.get(key) ?? []).slice().sort().map(encodeRfc3986);
      return `${encodeRfc3986(key)}=${values.join(",")}`;
    })
    .join("&");
}

export function canonicalRequest(method: string, path: string, rawQuery?: string | null, basePath = ""): string {
  return `${method.toUpperCase()}&${canonicalPath(path, basePath)}&${canonicalQuery(rawQuery)}`;
}

export function qshOf(method: string, path: string, rawQuery?: string | null, basePath = ""): string {
  return createHash("sha256").update(canonicalRequest(method, path, rawQuery, basePath)).digest("hex");
}

/** The qsh of a call to an absolute URL, relative to the base URL it is made against (e.g. a tenant's baseApiUrl). */
export function qshOfUrl(method: string, url: string, baseUrl: string): string {
  const target = new URL(url);
  const base = new URL(baseUrl);
  return qshOf(method, target.pathname, target.search, base.pathname);
}
