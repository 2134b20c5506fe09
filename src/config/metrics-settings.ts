import { ConfigError } from "./config-error";

/**
 * Who may read `/metrics`. Metrics name tenants' queues and the service's load, so they are never public by default:
 * - `token` (PIPELINES_METRICS_TOKEN, at least 16 characters): `/metrics` on the service's own port, for a scraper
 *   sending `Authorization: Bearer <token>`;
 * - `port` (PIPELINES_METRICS_PORT, with PIPELINES_METRICS_HOST, default 127.0.0.1): `/metrics` on a listener of its
 *   own, for a scraper on the same machine or a private network; the service's public port does not serve it;
 * - neither: not served at all.
 * Both may be given: the separate port then also asks for the token.
 */
export interface MetricsSettings {
  token: string | null;
  port: number | null;
  host: string;
}

type Env = Record<string, string | undefined>;

export function loadMetricsSettings(env: Env): MetricsSettings {
  const token = env.PIPELINES_METRICS_TOKEN?.trim() || null;
  if (token !== null && (token.length < 16 || /\s/.test(token))) {
    throw new ConfigError("PIPELINES_METRICS_TOKEN", "must be at least 16 characters without spaces (openssl rand -hex 24)");
  }
  const rawPort = env.PIPELINES_METRICS_PORT?.trim();
  let port: number | null = null;
  if (rawPort) {
    port = Number(rawPort);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError("PIPELINES_METRICS_PORT", `must be a port number from 0 to 65535 (got "${rawPort}")`);
  }
  const host = env.PIPELINES_METRICS_HOST?.trim() || "127.0.0.1";
  return { token, port, host };
}
