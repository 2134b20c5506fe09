import os from "node:os";
import { ConfigError } from "./config-error";

export type ExecutorKind = "sandbox" | "container" | "host";

/**
 * How a runner isolates steps (the in-process runner of `npm start` and `npm run runner` read the same settings).
 * Validated once at start; a wrong value stops the runner with a message naming the setting.
 */
export interface ExecutorSettings {
  /** PIPELINES_EXECUTOR: `sandbox` (default), `container`, or `host` (no isolation; remote runners only). */
  executor: ExecutorKind;
  /** PIPELINES_STEP_NETWORK: `internet` (default: the outside world, never this machine or private networks) or `none`. */
  network: "internet" | "none";
  /** PIPELINES_STEP_NETWORK_ALLOW: IPv4 ranges a step may reach although they are private (an internal registry…). */
  networkAllow: string[];
  /** PIPELINES_STEP_MEMORY: the memory of a 1x step (Bitbucket: 4 GiB); a 2x step gets twice as much, and so on. */
  memoryPerSizeBytes: number;
  /** PIPELINES_STEP_MEMORY_MAX: the most memory a step may ask for (default: the machine's memory). */
  memoryMaxBytes: number;
  /** PIPELINES_STEP_PIDS: processes and threads a step may have at once (default 4096). */
  pids: number;
  /** PIPELINES_STEP_CPUS: CPUs of a 1x step (default: the machine's CPUs shared among the slots); ×size, at most all. */
  cpusPerSize: number;
  /** PIPELINES_STEP_DISK: size of a job's filesystem (checkout, work trees, HOME, /tmp; default 20 GiB); null: no cap. */
  diskBytes: number | null;
  /** PIPELINES_SANDBOX_UID_BASE: first uid of this runner's steps (one per slot; default derived from its state directory). */
  uidBase: number | null;
  /** PIPELINES_CGROUP_PARENT: cgroup (below the hierarchy root) to make step cgroups in, instead of below the runner's own. */
  cgroupParent: string | null;
  /** PIPELINES_CONTAINER_DEFAULT_IMAGE: the image of a step that names none (container executor; Bitbucket's default). */
  defaultImage: string;
  /** Between SIGTERM and SIGKILL when a step is stopped (the runner's grace period). */
  graceMs: number;
}

type Env = Record<string, string | undefined>;

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4 };

/** `4GiB`, `512M`, `1048576`… as bytes. */
export function parseSize(name: string, raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new ConfigError(name, `must be a size such as 4GiB, 512MiB or a number of bytes (got "${raw}")`);
  return Math.round(Number(m[1]) * unit);
}

/** Reads the executor settings; `slots` is how many jobs the runner runs at once (for the default CPU share). */
export function loadExecutorSettings(env: Env, slots: number, graceMs = 10_000): ExecutorSettings {
  const executor = (env.PIPELINES_EXECUTOR ?? "sandbox").trim() || "sandbox";
  if (executor !== "sandbox" && executor !== "container" && executor !== "host") {
    throw new ConfigError("PIPELINES_EXECUTOR", `must be sandbox, container or host (got "${executor}")`);
  }
  const network = (env.PIPELINES_STEP_NETWORK ?? "internet").trim() || "internet";
  if (network !== "internet" && network !== "none") throw new ConfigError("PIPELINES_STEP_NETWORK", `must be internet or none (got "${network}")`);
  const networkAllow = (env.PIPELINES_STEP_NETWORK_ALLOW ?? "").split(",").map((s) => s.trim()).filter(Boolean).map((cidr) => {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
    if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32 || Number(m[5]) < 8) {
      throw new ConfigError("PIPELINES_STEP_NETWORK_ALLOW", `must be IPv4 ranges such as 10.1.2.0/24, separated by commas, each at most a /8 (got "${cidr}")`);
    }
    return cidr;
  });
  const memoryPerSizeBytes = env.PIPELINES_STEP_MEMORY ? parseSize("PIPELINES_STEP_MEMORY", env.PIPELINES_STEP_MEMORY) : 4 * 1024 ** 3;
  const memoryMaxBytes = env.PIPELINES_STEP_MEMORY_MAX ? parseSize("PIPELINES_STEP_MEMORY_MAX", env.PIPELINES_STEP_MEMORY_MAX) : os.totalmem();
  if (memoryPerSizeBytes < 16 * 1024 ** 2) throw new ConfigError("PIPELINES_STEP_MEMORY", "must be at least 16MiB");
  if (memoryMaxBytes < memoryPerSizeBytes) throw new ConfigError("PIPELINES_STEP_MEMORY_MAX", "must be at least PIPELINES_STEP_MEMORY (the memory of a 1x step)");
  const pids = intSetting("PIPELINES_STEP_PIDS", env.PIPELINES_STEP_PIDS, 4096, 16, 4_194_304);
  const cores = Math.max(1, os.availableParallelism());
  const cpusRaw = env.PIPELINES_STEP_CPUS;
  const cpusPerSize = cpusRaw === undefined || cpusRaw === "" ? Math.max(1, Math.floor(cores / Math.max(1, slots))) : Number(cpusRaw);
  if (!Number.isFinite(cpusPerSize) || cpusPerSize < 0.05 || cpusPerSize > 4096) throw new ConfigError("PIPELINES_STEP_CPUS", `must be a number of CPUs such as 1 or 2.5 (got "${cpusRaw}")`);
  const diskRaw = (env.PIPELINES_STEP_DISK ?? "").trim();
  const diskBytes = diskRaw === "" ? 20 * 1024 ** 3 : diskRaw === "unlimited" ? null : parseSize("PIPELINES_STEP_DISK", diskRaw);
  if (diskBytes !== null && diskBytes < 64 * 1024 ** 2) throw new ConfigError("PIPELINES_STEP_DISK", "must be at least 64MiB, or unlimited");
  const uidBase = env.PIPELINES_SANDBOX_UID_BASE ? intSetting("PIPELINES_SANDBOX_UID_BASE", env.PIPELINES_SANDBOX_UID_BASE, 0, 100_000, 4_000_000_000) : null;
  const cgroupParent = env.PIPELINES_CGROUP_PARENT?.trim() || null;
  if (cgroupParent !== null && (cgroupParent.includes("..") || !/^[\w./-]+$/.test(cgroupParent))) throw new ConfigError("PIPELINES_CGROUP_PARENT", "must be a cgroup path such as pipelines.slice/runner");
  const defaultImage = env.PIPELINES_CONTAINER_DEFAULT_IMAGE?.trim() || "atlassian/default-image:4";
  if (!/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/.test(defaultImage)) throw new ConfigError("PIPELINES_CONTAINER_DEFAULT_IMAGE", `is not an image name (got "${defaultImage}")`);
  return { executor, network, networkAllow, memoryPerSizeBytes, memoryMaxBytes, pids, cpusPerSize, diskBytes, uidBase, cgroupParent, defaultImage, graceMs };
}

function intSetting(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(name, `must be a whole number from ${min} to ${max} (got "${raw}")`);
  return n;
}

/** `4 GiB`, `512 MiB`… for people. */
export function formatBytes(n: number): string {
  for (const [unit, size] of [["TiB", 1024 ** 4], ["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (n >= size) {
      const v = n / size;
      return `${Number.isInteger(v) ? v : v.toFixed(1)} ${unit}`;
    }
  }
  return `${n} bytes`;
}
