import type { Sequelize } from "sequelize";
import type { SecretBox } from "../crypto/secret-box";
import { encryptSecretFields } from "../encrypted-fields";
import { ACCESS_TOKEN_SECRET_FIELDS, defineAccessToken, type AccessTokenModel } from "./access-token";
import { defineDelivery, type DeliveryModel } from "./delivery";
import { defineTenant, TENANT_SECRET_FIELDS, type TenantModel } from "./tenant";

export interface Models {
  sequelize: Sequelize;
  Tenant: TenantModel;
  AccessToken: AccessTokenModel;
  Delivery: DeliveryModel;
}

/** Defines every model on `sequelize` (one set per database) and wires secret columns through the encryption helper. */
export function defineModels(sequelize: Sequelize, box: SecretBox): Models {
  const Tenant = defineTenant(sequelize);
  const AccessToken = defineAccessToken(sequelize);
  const Delivery = defineDelivery(sequelize);
  encryptSecretFields(Tenant, "tenants", TENANT_SECRET_FIELDS, box);
  encryptSecretFields(AccessToken, "access_tokens", ACCESS_TOKEN_SECRET_FIELDS, box);
  return { sequelize, Tenant, AccessToken, Delivery };
}

export type { Tenant } from "./tenant";
export type { AccessToken } from "./access-token";
export type { Delivery } from "./delivery";
