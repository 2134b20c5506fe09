import request from "supertest";
import type { Build } from "../../src/db/models";
import { mintToken } from "../support/connect-tokens";
import { eventually, type World } from "../support/build-world";
import type { TestServer } from "../support/test-server";

/** `Authorization` with a context token of `w` naming the Bitbucket account `accountId` (`sub`), as a page of theirs sends. */
export function asPerson(w: World, secret: string, accountId: string): string {
  return `JWT ${mintToken({ clientKey: w.clientKey, secret, context: true, claims: { sub: accountId } })}`;
}

/** The JSON API of `w`'s application, path relative to `/api/applications/:id`. */
export function appApi(server: TestServer, w: World, method: "get" | "post" | "put" | "patch" | "delete", path: string, auth: string) {
  return request(server.url)[method](`/api/applications/${w.applicationId}${path}`).set("Authorization", auth);
}

/** Waits until `build` (by id) is in one of `states`, and returns it fresh. */
export function buildInState(server: TestServer, id: number, states: string[], ms = 30_000): Promise<Build> {
  return eventually(`build ${id} in ${states.join("/")}`, async () => {
    const b = await server.storage.models.Build.findByPk(id);
    return b && states.includes(b.state) ? b : undefined;
  }, ms);
}
