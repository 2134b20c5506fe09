import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createHash } from "node:crypto";
import type { ExecutorSettings } from "../../config/executor-settings";
import type { Logger } from "../../log/logger";
import { join } from "node:path";
import { ContainerExecutor, removeContainers, UIDS_PER_SLOT } from "./container/container-executor";
import { Podman, writeContainersConf } from "./container/podman";
import { PrivateImages } from "./container/pull-image";
import { ExecutorUnavailableError, type Executor } from "./executor";
import { HostExecutor } from "./host/host-executor";
import { findCgroupLayout, removeLeftoverCgroups } from "./sandbox/cgroups";
import { JobDisks } from "./sandbox/job-disk";
import { NetnsPool } from "./sandbox/netns-pool";
import { TOOL_PATH } from "./sandbox/run-tool";
import { defaultUidBase, SandboxExecutor } from "./sandbox/sandbox-executor";
import { sandboxRootArgs } from "./sandbox/sandbox-root";
import { seccompSupported } from "./sandbox/seccomp-filter";

export interface ExecutorContext {
  settings: ExecutorSettings;
  /** Where job workspaces are made. */
  workDir: string;
  /** The runner's own state (never visible to a step). */
  stateDir: string;
  slots: number;
  runnerName: string;
  /** Whether this runner runs inside the web service (`host` is refused there). */
  inProcess: boolean;
  log: Logger;
}

/** How to get what the sandbox needs, on Debian/Ubuntu. */
const INSTALL_HINT = "npm start and npm run runner install it when they run as root (scripts/ensure-system-packages.sh); otherwise: apt-get install";

/**
 * Checks that this machine can isolate steps the way PIPELINES_EXECUTOR asks, cleans up what a runner that died left
 * (mounts, network namespaces, cgroups), and returns the executor. Throws ExecutorUnavailableError saying what is
 * missing and how to fix it: a runner never falls back to running steps unisolated.
 */
export async function createExecutor(c: ExecutorContext): Promise<Executor> {
  const s = c.settings;
  if (s.executor === "host") {
    if (c.inProcess) {
      throw new ExecutorUnavailableError(
        "PIPELINES_EXECUTOR=host runs steps without any isolation, as the service's own user: it is refused for the runner inside the web service. Use it only on a runner on another machine (npm run runner), for repositories you trust",
      );
    }
    c.log.warn(`PIPELINES_EXECUTOR=host: steps run WITHOUT ISOLATION as this runner's user; any step can read and change this machine's files, processes and network. Every step's log and page say so.`);
    return new HostExecutor(c.workDir, c.stateDir, c.runnerName);
  }
  const kind = s.executor;
  requireLinuxRoot(kind);
  requireTools(kind, [
    ...(kind === "container" ? ([["podman", "podman"]] as Array<[string, string]>) : []),
    ["bwrap", "bubblewrap"],
    ["setpriv", "util-linux"],
    ["nsenter", "util-linux"],
    ["mount", "mount"],
    ...(s.network === "internet" ? ([["slirp4netns", "slirp4netns"], ["ip", "iproute2"]] as Array<[string, string]>) : []),
    ...(s.diskBytes !== null ? ([["mkfs.ext4", "e2fsprogs"]] as Array<[string, string]>) : []),
  ]);
  if (!seccompSupported()) throw new ExecutorUnavailableError(`the ${kind} executor has no seccomp filter for the ${process.arch} architecture (x64 and arm64 are supported)`);
  if (s.diskBytes !== null && !existsSync("/dev/loop-control")) {
    throw new ExecutorUnavailableError(
      `the ${kind} executor caps each job's disk with a loop-mounted filesystem, and this machine has no loop devices (/dev/loop-control): give the runner access to them (a VM or a privileged container), or set PIPELINES_STEP_DISK=unlimited to run without a disk cap (a step can then fill the runner's disk)`,
    );
  }
  const probe = spawnSync("bwrap", ["--unshare-pid", "--unshare-net", "--ro-bind", "/", "/", "--proc", "/proc", "--", "true"], { env: { PATH: TOOL_PATH }, encoding: "utf8" });
  if (probe.status !== 0) {
    throw new ExecutorUnavailableError(`bubblewrap cannot make namespaces here (${(probe.stderr || probe.error?.message || "").trim() || `exit code ${probe.status}`}): the runner needs a kernel with pid, mount and network namespaces, and the right to make them (root, not inside a restricted container)`);
  }
  const key = runnerKey(c.stateDir);
  // Under a directory of this runner's own: what a previous runner of the same state directory left is removed at start,
  // and another runner given the same --work-dir is never touched.
  const disks = new JobDisks(join(c.workDir, `runner-${key}`), s.diskBytes);
  const netns = s.network === "internet" ? new NetnsPool(key, s.networkAllow, (e) => c.log.warn("network namespace error", { error: String(e) })) : null;
  const left: Record<string, number> = { workspaces: await disks.removeLeftovers(), networks: (await netns?.removeLeftovers()) ?? 0 };
  let executor: Executor;
  if (kind === "container") {
    const conf = join(c.stateDir, "containers.conf");
    writeContainersConf(conf);
    const podman = new Podman(conf);
    const problem = podman.check();
    if (problem) throw new ExecutorUnavailableError(`the container executor cannot use podman here: ${problem}`);
    left.containers = await removeContainers(podman, `pipelines.runner=${key}`);
    const uidBase = s.uidBase ?? defaultContainerUidBase(c.stateDir);
    const root = await sandboxRootArgs(c.stateDir, [uidBase], false);
    executor = new ContainerExecutor({ settings: s, slots: c.slots, uidBase, root, disks, netns, podman, key, privateImages: new PrivateImages(join(c.stateDir, "private-images.json")) });
  } else {
    let layout;
    try {
      layout = await findCgroupLayout(`pipelines-${key}`, s.cgroupParent ?? undefined);
    } catch (err) {
      throw new ExecutorUnavailableError(`the sandbox executor limits each step with a cgroup of its own, and cannot here: ${(err as Error).message}. Set PIPELINES_CGROUP_PARENT to a cgroup the runner may manage`);
    }
    left.cgroups = await removeLeftoverCgroups(layout);
    const uidBase = s.uidBase ?? defaultUidBase(c.stateDir);
    const uids = Array.from({ length: c.slots }, (_, i) => uidBase + i);
    const root = await sandboxRootArgs(c.stateDir, uids, s.network === "internet");
    executor = new SandboxExecutor({ settings: s, slots: c.slots, uidBase, layout, root, disks, netns, onError: (e) => c.log.warn("sandbox cleanup error", { error: String(e) }) });
  }
  if (Object.values(left).some((n) => n > 0)) c.log.warn("removed what a previous runner left", left);
  return executor;
}

/** The container uid ranges of this runner (65,536 uids per slot), from its state directory. */
function defaultContainerUidBase(stateDir: string): number {
  const h = createHash("sha256").update(`containers:${stateDir}`).digest().readUInt32BE(0);
  return 2_000_000_000 + (h % 500) * 64 * UIDS_PER_SLOT;
}

/** Eight hex characters naming this runner's namespaces and cgroups (from its state directory). */
export function runnerKey(stateDir: string): string {
  return createHash("sha256").update(stateDir).digest("hex").slice(0, 8);
}

function requireLinuxRoot(executor: string): void {
  if (process.platform !== "linux") throw new ExecutorUnavailableError(`the ${executor} executor needs Linux (this is ${process.platform})`);
  if (process.getuid?.() !== 0) {
    throw new ExecutorUnavailableError(
      `the ${executor} executor runs as root, to give each step its own uid, cgroup, network and filesystem (this runner runs as uid ${process.getuid?.()}). ` +
        "Run the runner as root (a dedicated machine or VM), or run the web service with PIPELINES_IN_PROCESS_RUNNER=false and runners elsewhere",
    );
  }
}

function requireTools(executor: string, tools: Array<[string, string]>): void {
  const missing = tools.filter(([cmd]) => spawnSync("sh", ["-c", `command -v ${cmd}`], { env: { PATH: TOOL_PATH } }).status !== 0);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map(([, pkg]) => pkg))];
  throw new ExecutorUnavailableError(`the ${executor} executor needs ${missing.map(([cmd]) => cmd).join(", ")}, which ${missing.length === 1 ? "is" : "are"} not installed: ${INSTALL_HINT} ${packages.join(" ")}`);
}
