import { ApiError, fieldError, objectBody, ok, paginate, type ApiRequest, type Route } from "./api-route";
import { bracedUuid } from "./ids";
import type { SshKeyRecord } from "./state";

/** A user's SSH keys: POST/GET /2.0/users/{selected_user}/ssh-keys, GET/DELETE …/ssh-keys/{key_id}. */

const KEY_FORMAT = /^(ssh-rsa|ssh-ed25519|ssh-dss|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) ([A-Za-z0-9+/]+={0,3})(?: (.*))?$/;

function keyObject(req: ApiRequest, k: SshKeyRecord): Record<string, unknown> {
  const { urls } = req.ctx.state;
  return {
    type: "ssh_key",
    uuid: k.uuid,
    key: k.key,
    comment: k.comment,
    label: k.label,
    created_on: k.createdOn,
    last_used: null,
    links: { self: { href: `${urls.api}/2.0/users/${encodeURIComponent(k.owner)}/ssh-keys/${encodeURIComponent(k.uuid)}` } },
    owner: { type: "user", uuid: k.owner },
  };
}

function findKey(req: ApiRequest, owner: string, id: string): SshKeyRecord {
  const k = req.ctx.state.sshKeys.get(id) ?? req.ctx.state.sshKeys.get(`{${id.replace(/[{}]/g, "")}}`);
  if (!k || k.owner !== owner) throw new ApiError(404, `No SSH key ${id} for ${owner}.`);
  return k;
}

export const sshKeyRoutes: Route[] = [
  {
    method: "POST",
    pattern: /^\/2\.0\/users\/([^/]+)\/ssh-keys\/?$/,
    scopes: ["account:write"],
    handle: (req) => {
      const body = objectBody(req);
      const key = typeof body.key === "string" ? body.key.trim() : "";
      const m = KEY_FORMAT.exec(key);
      if (!m) throw fieldError("key", "Invalid SSH key.");
      const material = `${m[1]} ${m[3]}`;
      if ([...req.ctx.state.sshKeys.values()].some((k) => k.key === material)) throw fieldError("key", "Someone has already added that SSH key to another account.");
      const record: SshKeyRecord = {
        uuid: bracedUuid(),
        key: material,
        label: typeof body.label === "string" ? body.label : "",
        comment: m[4] ?? "",
        owner: req.params[0],
        createdOn: new Date().toISOString(),
        clientKey: req.install.clientKey,
      };
      req.ctx.state.sshKeys.set(record.uuid, record);
      return ok(keyObject(req, record), 201);
    },
  },
  {
    method: "GET",
    pattern: /^\/2\.0\/users\/([^/]+)\/ssh-keys\/?$/,
    scopes: ["account"],
    handle: (req) => {
      const owner = req.params[0];
      const keys = [...req.ctx.state.sshKeys.values()].filter((k) => k.owner === owner).map((k) => keyObject(req, k));
      return ok(paginate(req, `/2.0/users/${encodeURIComponent(owner)}/ssh-keys`, keys));
    },
  },
  {
    method: "GET",
    pattern: /^\/2\.0\/users\/([^/]+)\/ssh-keys\/([^/]+)\/?$/,
    scopes: ["account"],
    handle: (req) => ok(keyObject(req, findKey(req, req.params[0], req.params[1]))),
  },
  {
    method: "DELETE",
    pattern: /^\/2\.0\/users\/([^/]+)\/ssh-keys\/([^/]+)\/?$/,
    scopes: ["account:write"],
    handle: (req) => {
      req.ctx.state.sshKeys.delete(findKey(req, req.params[0], req.params[1]).uuid);
      return { status: 204 };
    },
  },
];
