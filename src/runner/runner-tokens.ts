import { createHash, randomBytes } from "node:crypto";
import type { Models, Runner } from "../db/models";

/** Every runner token starts with this, so a leaked one is recognisable (secret scanners, logs). */
export const RUNNER_TOKEN_PREFIX = "pplr_";
/** `pplr_` + 43 characters: 32 random bytes in base64url without padding. */
export const RUNNER_TOKEN = /^pplr_[A-Za-z0-9_-]{43}$/;
/** What a runner may be called: it names the runner in the lease owner, the logs and `runner-token revoke`. */
export const RUNNER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$/;
/** The runners table's `last_seen_at` is written at most this often per runner. */
export const LAST_SEEN_RESOLUTION_MS = 30_000;

/** A new runner token. Shown once when created; only its hash is stored. */
export function newRunnerToken(): string {
  return RUNNER_TOKEN_PREFIX + randomBytes(32).toString("base64url");
}

/** SHA-256 (hex) of a token: what the runners table keeps and what a request's token is looked up by. */
export function hashRunnerToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export class RunnerNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunnerNameError";
  }
}

/**
 * Registers a runner and returns its token, which exists nowhere else afterwards. Names are unique: a second
 * runner of the same name is refused (revoke the old one first to replace its token).
 */
export async function createRunner(models: Models, name: string): Promise<{ runner: Runner; token: string }> {
  if (!RUNNER_NAME.test(name)) throw new RunnerNameError(`"${name}" is not a runner name: letters, digits and . _ @ : -, at most 128, starting with a letter or digit`);
  if (await models.Runner.findOne({ where: { name } })) throw new RunnerNameError(`a runner named "${name}" exists already; revoke it first to give it a new token`);
  const token = newRunnerToken();
  const runner = await models.Runner.create({ name, tokenHash: hashRunnerToken(token) });
  return { runner, token };
}

/** Every runner with a token, by name (never a token: none is stored); not the runners inside web processes. */
export function listRunners(models: Models): Promise<Runner[]> {
  return models.Runner.findAll({ where: { kind: "remote" }, order: [["name", "ASC"]] });
}

/** Deletes the runner: its token stops working at the next request. Returns how many runners were removed. */
export function revokeRunner(models: Models, name: string): Promise<number> {
  return models.Runner.destroy({ where: { name, kind: "remote" } });
}

/**
 * The runner a presented token belongs to, or null. The token is hashed and the hash looked up by the database's
 * unique index, so no comparison of secrets happens in our code (nothing to time). Something that does not look
 * like a runner token is refused without a query.
 */
export async function authenticateRunner(models: Models, token: string, now = new Date()): Promise<Runner | null> {
  if (!RUNNER_TOKEN.test(token)) return null;
  const runner = await models.Runner.findOne({ where: { tokenHash: hashRunnerToken(token) } });
  if (!runner) return null;
  if (!runner.lastSeenAt || now.getTime() - runner.lastSeenAt.getTime() >= LAST_SEEN_RESOLUTION_MS) {
    await models.Runner.update({ lastSeenAt: now }, { where: { id: runner.id } });
    runner.lastSeenAt = now;
  }
  return runner;
}
