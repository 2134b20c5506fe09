import { createHash } from "node:crypto";
import fs from "node:fs";
import type http from "node:http";
import path from "node:path";
import { readBody } from "./http-util";

/**
 * Git LFS for the stand-in's repositories, as Bitbucket serves it at `/{workspace}/{repo}.git/info/lfs/…` behind the
 * same credentials as git: the batch API (`POST objects/batch`, downloads only) whose download links point back here,
 * and `GET objects/{oid}`. Objects are files in `<bare repository>/lfs-store/<oid>`, added with `storeLfsObject`.
 */

const OID = /^[0-9a-f]{64}$/;
const LFS_TYPE = "application/vnd.git-lfs+json";

/** Stores `content` as an LFS object of the repository; returns its pointer file's text. */
export function storeLfsObject(gitDir: string, content: Buffer | string): { oid: string; size: number; pointer: string } {
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
  const oid = createHash("sha256").update(bytes).digest("hex");
  fs.mkdirSync(path.join(gitDir, "lfs-store"), { recursive: true });
  fs.writeFileSync(path.join(gitDir, "lfs-store", oid), bytes);
  return { oid, size: bytes.length, pointer: `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${bytes.length}\n` };
}

/** Answers an LFS request (`tail` after `.git`, e.g. `/info/lfs/objects/batch`); false when it is not one. */
export async function serveLfs(gitDir: string, baseUrl: string, tail: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> {
  if (!tail.startsWith("/info/lfs/")) return false;
  const send = (status: number, body: unknown) => {
    res.writeHead(status, { "Content-Type": LFS_TYPE });
    res.end(JSON.stringify(body));
  };
  const rest = tail.slice("/info/lfs/".length);
  if (rest === "objects/batch" && req.method === "POST") {
    const body = JSON.parse((await readBody(req)).toString("utf8") || "{}") as { operation?: string; objects?: Array<{ oid: string; size: number }> };
    if (body.operation !== "download") {
      send(403, { message: "the stand-in serves LFS downloads only" });
      return true;
    }
    const objects = (body.objects ?? []).map(({ oid, size }) => {
      const file = path.join(gitDir, "lfs-store", oid);
      if (!OID.test(oid) || !fs.existsSync(file)) return { oid, size, error: { code: 404, message: "Object does not exist" } };
      return { oid, size: fs.statSync(file).size, authenticated: true, actions: { download: { href: `${baseUrl}/info/lfs/objects/${oid}`, expires_in: 3600 } } };
    });
    send(200, { transfer: "basic", objects });
    return true;
  }
  const m = /^objects\/([0-9a-f]{64})$/.exec(rest);
  if (m && req.method === "GET") {
    req.resume();
    const file = path.join(gitDir, "lfs-store", m[1]);
    if (!fs.existsSync(file)) {
      send(404, { message: "Object does not exist" });
      return true;
    }
    const bytes = fs.readFileSync(file);
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": String(bytes.length) });
    res.end(bytes);
    return true;
  }
  req.resume();
  send(404, { message: "Not found" });
  return true;
}
