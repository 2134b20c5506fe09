import type { QueryInterface } from "sequelize";
import * as m0001 from "./0001-tenants";
import * as m0002 from "./0002-deliveries";
import * as m0003 from "./0003-applications";
import * as m0004 from "./0004-builds";
import * as m0005 from "./0005-tenant-ssh-keys";
import * as m0006 from "./0006-application-main-branch";
import * as m0007 from "./0007-server-connections";
import * as m0008 from "./0008-oauth-connections";
import * as m0009 from "./0009-step-executor";
import * as m0010 from "./0010-oidc-signing-keys";
import * as m0011 from "./0011-forge-installations";
import * as m0013 from "./0013-deployments";
import * as m0014 from "./0014-build-pages";
import * as m0015 from "./0015-runner-labels";
import * as m0016 from "./0016-artifacts-and-caches";
import * as m0018 from "./0018-metrics-indexes";

export interface Migration {
  name: string;
  up(params: { context: QueryInterface }): Promise<void>;
  down(params: { context: QueryInterface }): Promise<void>;
}

/** Every migration, in order. Add new ones at the end; never edit one that has shipped. */
export const migrations: Migration[] = [
  { name: "0001-tenants", ...m0001 },
  { name: "0002-deliveries", ...m0002 },
  { name: "0003-applications", ...m0003 },
  { name: "0004-builds", ...m0004 },
  { name: "0005-tenant-ssh-keys", ...m0005 },
  { name: "0006-application-main-branch", ...m0006 },
  { name: "0007-server-connections", ...m0007 },
  { name: "0008-oauth-connections", ...m0008 },
  { name: "0009-step-executor", ...m0009 },
  { name: "0010-oidc-signing-keys", ...m0010 },
  { name: "0011-forge-installations", ...m0011 },
  { name: "0013-deployments", ...m0013 },
  { name: "0014-build-pages", ...m0014 },
  { name: "0015-runner-labels", ...m0015 },
  { name: "0016-artifacts-and-caches", ...m0016 },
  { name: "0018-metrics-indexes", ...m0018 },
];
