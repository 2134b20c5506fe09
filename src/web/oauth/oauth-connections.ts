import type { Models, OAuthSession, Tenant } from "../../db/models";
import { Op } from "sequelize";
import { sessionWorkspaces } from "./session";

export interface ConnectionView {
  tenantId: number;
  workspace: string;
  workspaceUuid: string;
  state: "connected" | "reconnect-needed";
  reason: string | null;
  connectedBy: string | null;
  applications: { id: number; repository: string; autoBuild: boolean }[];
}

/** The connected workspaces this session's user belongs to (never any other), with their applications. */
export async function sessionConnections(models: Models, session: OAuthSession): Promise<{ tenant: Tenant; view: ConnectionView }[]> {
  const uuids = sessionWorkspaces(session);
  if (uuids.length === 0) return [];
  const tenants = await models.Tenant.findAll({ where: { kind: "cloud-oauth", status: "active", principalUuid: { [Op.in]: uuids } }, order: [["principalName", "ASC"]] });
  const out: { tenant: Tenant; view: ConnectionView }[] = [];
  for (const tenant of tenants) {
    const conn = await models.OAuthConnection.findOne({ where: { tenantId: tenant.id } });
    if (!conn) continue;
    const apps = await models.Application.findAll({ where: { tenantId: tenant.id }, order: [["repository", "ASC"]] });
    out.push({
      tenant,
      view: {
        tenantId: tenant.id,
        workspace: conn.workspaceSlug,
        workspaceUuid: conn.workspaceUuid,
        state: conn.state,
        reason: conn.reason,
        connectedBy: conn.userName,
        applications: apps.map((a) => ({ id: a.id, repository: a.repository, autoBuild: a.autoBuild })),
      },
    });
  }
  return out;
}
