import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { Config } from "../../config/load-config";
import { parseSecretKey } from "../../config/load-config";
import type { Logger } from "../../log/logger";

/**
 * The key that encrypts secret columns: PIPELINES_SECRET_KEY when set (required in production); otherwise a
 * development key generated once into `<dataDir>/secret.key` (mode 0600), with a warning.
 */
export function loadSecretKey(config: Config, log: Logger): Buffer {
  if (config.secretKey) return config.secretKey;
  const file = path.join(config.dataDir, "secret.key");
  if (fs.existsSync(file)) return parseSecretKey(fs.readFileSync(file, "utf8"), file);
  fs.mkdirSync(config.dataDir, { recursive: true });
  const key = randomBytes(32);
  fs.writeFileSync(file, key.toString("base64") + "\n", { mode: 0o600 });
  log.warn(`PIPELINES_SECRET_KEY is not set: generated a development key in ${file}. Set PIPELINES_SECRET_KEY in production.`);
  return key;
}
