import type { Application, Tenant } from "../../db/models";
import type { CloudCaller } from "../../forges/cloud/cloud-caller";

/** What the JSON API needs from Bitbucket Cloud, whatever the door (Connect or OAuth). */
export interface CloudApiDeps {
  /** The Cloud API of a tenant (Connect JWT or OAuth bearer); throws an HttpError for a kind without one. */
  callerFor(tenant: Tenant): CloudCaller;
  /**
   * Called after an application's auto-build was turned on or off (or before it is deleted, with false): creates or
   * deletes the repository webhook where the kind of tenant needs one (OAuth); Connect's come from the descriptor.
   */
  autoBuildChanged?(tenant: Tenant, app: Application, on: boolean): Promise<void>;
}
