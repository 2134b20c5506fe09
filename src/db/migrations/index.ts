import type { QueryInterface } from "sequelize";
import * as m0001 from "./0001-tenants";
import * as m0002 from "./0002-deliveries";

export interface Migration {
  name: string;
  up(params: { context: QueryInterface }): Promise<void>;
  down(params: { context: QueryInterface }): Promise<void>;
}

/** Every migration, in order. Add new ones at the end; never edit one that has shipped. */
export const migrations: Migration[] = [
  { name: "0001-tenants", ...m0001 },
  { name: "0002-deliveries", ...m0002 },
];
