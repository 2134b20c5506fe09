import type { Sequelize } from "sequelize";
import type { SecretBox } from "../crypto/secret-box";
import { encryptSecretFields } from "../encrypted-fields";
import { ACCESS_TOKEN_SECRET_FIELDS, defineAccessToken, type AccessTokenModel } from "./access-token";
import { defineApplication, type ApplicationModel } from "./application";
import { APPLICATION_VARIABLE_SECRET_FIELDS, defineApplicationVariable, type ApplicationVariableModel } from "./application-variable";
import { defineBuild, type BuildModel } from "./build";
import { defineDecision, type DecisionModel } from "./decision";
import { defineDelivery, type DeliveryModel } from "./delivery";
import { defineJob, type JobModel } from "./job";
import { defineLogChunk, type LogChunkModel } from "./log-chunk";
import { defineRunner, type RunnerModel } from "./runner";
import { defineStatusOutbox, type StatusOutboxModel } from "./status-outbox";
import { defineStep, type StepModel } from "./step";
import { defineStepTestReport, type StepTestReportModel } from "./step-test-report";
import { defineArtifact, defineCache, type ArtifactModel, type CacheModel } from "./artifact";
import { defineTenant, TENANT_SECRET_FIELDS, type TenantModel } from "./tenant";
import { defineServerConnection, defineServerWebhook, SERVER_CONNECTION_SECRET_FIELDS, SERVER_WEBHOOK_SECRET_FIELDS, type ServerConnectionModel, type ServerWebhookModel } from "./server-connection";
import { CLOUD_WEBHOOK_SECRET_FIELDS, defineCloudWebhook, defineOAuthConnection, defineOAuthSession, OAUTH_SESSION_SECRET_FIELDS, type CloudWebhookModel, type OAuthConnectionModel, type OAuthSessionModel } from "./oauth";
import { defineOidcSigningKey, OIDC_SIGNING_KEY_SECRET_FIELDS, type OidcSigningKeyModel } from "./oidc-signing-key";
import { defineForgeInstallation, type ForgeInstallationModel } from "./forge-installation";
import { defineTenantSshKey, TENANT_SSH_KEY_SECRET_FIELDS, type TenantSshKeyModel } from "./tenant-ssh-key";
import { DEFAULT_ENVIRONMENTS, defineEnvironment, defineEnvironmentVariable, ENVIRONMENT_VARIABLE_SECRET_FIELDS, type EnvironmentModel, type EnvironmentVariableModel } from "./environment";
import { defineDeployment, defineStepLock, type DeploymentModel, type StepLockModel } from "./deployment";
import { defineSchedule, type ScheduleModel } from "./schedule";
import type { Application } from "./application";
import type { Transaction } from "sequelize";

export interface Models {
  sequelize: Sequelize;
  Tenant: TenantModel;
  AccessToken: AccessTokenModel;
  Delivery: DeliveryModel;
  Application: ApplicationModel;
  ApplicationVariable: ApplicationVariableModel;
  Build: BuildModel;
  Step: StepModel;
  LogChunk: LogChunkModel;
  StepTestReport: StepTestReportModel;
  Artifact: ArtifactModel;
  Cache: CacheModel;
  Job: JobModel;
  StatusOutbox: StatusOutboxModel;
  Decision: DecisionModel;
  Runner: RunnerModel;
  TenantSshKey: TenantSshKeyModel;
  ServerConnection: ServerConnectionModel;
  ServerWebhook: ServerWebhookModel;
  OAuthConnection: OAuthConnectionModel;
  OAuthSession: OAuthSessionModel;
  CloudWebhook: CloudWebhookModel;
  OidcSigningKey: OidcSigningKeyModel;
  ForgeInstallation: ForgeInstallationModel;
  Environment: EnvironmentModel;
  EnvironmentVariable: EnvironmentVariableModel;
  Deployment: DeploymentModel;
  StepLock: StepLockModel;
  Schedule: ScheduleModel;
}

/** Defines every model on `sequelize` (one set per database) and wires secret columns through the encryption helper. */
export function defineModels(sequelize: Sequelize, box: SecretBox): Models {
  const Tenant = defineTenant(sequelize);
  const AccessToken = defineAccessToken(sequelize);
  const Delivery = defineDelivery(sequelize);
  const Application = defineApplication(sequelize);
  const ApplicationVariable = defineApplicationVariable(sequelize);
  encryptSecretFields(Tenant, "tenants", TENANT_SECRET_FIELDS, box);
  encryptSecretFields(AccessToken, "access_tokens", ACCESS_TOKEN_SECRET_FIELDS, box);
  encryptSecretFields(ApplicationVariable, "application_variables", APPLICATION_VARIABLE_SECRET_FIELDS, box);
  const TenantSshKey = defineTenantSshKey(sequelize);
  encryptSecretFields(TenantSshKey, "tenant_ssh_keys", TENANT_SSH_KEY_SECRET_FIELDS, box);
  const ServerConnection = defineServerConnection(sequelize);
  encryptSecretFields(ServerConnection, "server_connections", SERVER_CONNECTION_SECRET_FIELDS, box);
  const ServerWebhook = defineServerWebhook(sequelize);
  encryptSecretFields(ServerWebhook, "server_webhooks", SERVER_WEBHOOK_SECRET_FIELDS, box);
  const CloudWebhook = defineCloudWebhook(sequelize);
  encryptSecretFields(CloudWebhook, "cloud_webhooks", CLOUD_WEBHOOK_SECRET_FIELDS, box);
  const OidcSigningKey = defineOidcSigningKey(sequelize);
  encryptSecretFields(OidcSigningKey, "oidc_signing_keys", OIDC_SIGNING_KEY_SECRET_FIELDS, box);
  const OAuthSession = defineOAuthSession(sequelize);
  encryptSecretFields(OAuthSession, "oauth_sessions", OAUTH_SESSION_SECRET_FIELDS, box);
  const Environment = defineEnvironment(sequelize);
  const EnvironmentVariable = defineEnvironmentVariable(sequelize);
  encryptSecretFields(EnvironmentVariable, "environment_variables", ENVIRONMENT_VARIABLE_SECRET_FIELDS, box);
  // Every application starts with Test, Staging and Production, in the transaction that creates it.
  Application.addHook("afterCreate", async (app: Application, options: { transaction?: Transaction | null }) => {
    await Environment.bulkCreate(
      DEFAULT_ENVIRONMENTS.map((e, rank) => ({ tenantId: app.tenantId, applicationId: app.id, name: e.name, nameKey: e.name.toLowerCase(), type: e.type, rank })),
      { transaction: options.transaction ?? undefined },
    );
  });
  return {
    sequelize,
    Tenant,
    AccessToken,
    Delivery,
    Application,
    ApplicationVariable,
    Build: defineBuild(sequelize),
    Step: defineStep(sequelize),
    LogChunk: defineLogChunk(sequelize),
    StepTestReport: defineStepTestReport(sequelize),
    Artifact: defineArtifact(sequelize),
    Cache: defineCache(sequelize),
    Job: defineJob(sequelize),
    StatusOutbox: defineStatusOutbox(sequelize),
    Decision: defineDecision(sequelize),
    Runner: defineRunner(sequelize),
    TenantSshKey,
    ServerConnection,
    ServerWebhook,
    OAuthConnection: defineOAuthConnection(sequelize),
    OAuthSession,
    CloudWebhook,
    OidcSigningKey,
    ForgeInstallation: defineForgeInstallation(sequelize),
    Environment,
    EnvironmentVariable,
    Deployment: defineDeployment(sequelize),
    StepLock: defineStepLock(sequelize),
    Schedule: defineSchedule(sequelize),
  };
}

export type { Tenant } from "./tenant";
export type { AccessToken } from "./access-token";
export type { Delivery } from "./delivery";
export type { Application } from "./application";
export type { ApplicationVariable } from "./application-variable";
export type { Build, BuildState } from "./build";
export type { Step, StepState } from "./step";
export type { LogChunk } from "./log-chunk";
export type { StepTestReport } from "./step-test-report";
export type { Artifact, ArtifactType, Cache } from "./artifact";
export type { Job } from "./job";
export type { StatusOutbox, CommitStatusState } from "./status-outbox";
export type { Decision, DecisionOutcome } from "./decision";
export type { Runner } from "./runner";
export type { TenantSshKey } from "./tenant-ssh-key";
export type { ServerConnection, ServerWebhook } from "./server-connection";
export type { OAuthConnection, OAuthSession, CloudWebhook } from "./oauth";
export type { OidcSigningKey } from "./oidc-signing-key";
export type { ForgeInstallation } from "./forge-installation";
export type { Environment, EnvironmentType, EnvironmentVariable } from "./environment";
export type { Deployment, DeploymentState, StepLock } from "./deployment";
export type { Schedule } from "./schedule";
