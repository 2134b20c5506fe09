import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import type { Readable, Writable } from "node:stream";
import { formatBytes, type ExecutorSettings } from "../../../config/executor-settings";
import { buildStepScript, shellQuote } from "../../build-step-script";
import { exitOf, superviseRun, type ScriptRun } from "../../run-script";
import type { Executor, JobSandbox, Owner, RunSpec, StepSandbox, StepSpec } from "../executor";
import { StepRefusedError } from "../executor";
import { FD, stepBwrapArgs } from "./bwrap-args";
import { StepCgroup, type CgroupLayout } from "./cgroups";
import { IsolatedJob, limitsLine, networkWords, prepareSlots, stepResources } from "./isolated-job";
import { JobDisks, type JobDisk } from "./job-disk";
import type { NetnsPool, StepNetwork } from "./netns-pool";
import { TOOL_PATH } from "./run-tool";
import { STEP_PATHS, type SandboxRoot } from "./sandbox-root";
import { seccompFilter } from "./seccomp-filter";

export interface SandboxParts {
  settings: ExecutorSettings;
  /** Jobs at once: one uid, one prepared network and one prepared disk each. */
  slots: number;
  uidBase: number;
  layout: CgroupLayout;
  root: SandboxRoot;
  disks: JobDisks;
  /** Null with PIPELINES_STEP_NETWORK=none. */
  netns: NetnsPool | null;
  /** Hears of what could not be cleaned up in the background. */
  onError(err: unknown): void;
}

/** A uid base for this runner from its state directory, so two runners on one machine rarely share uids. */
export function defaultUidBase(stateDir: string): number {
  const h = createHash("sha256").update(stateDir).digest().readUInt32BE(0);
  return 1_900_000_000 + (h % 1_000_000) * 64;
}

/**
 * The default executor: every step in bubblewrap namespaces (see bwrap-args.ts), as its slot's own unprivileged
 * uid, with a cgroup of its own (memory from its size, processes, CPU), its own network namespace (the outside world
 * through slirp4netns, never this machine or private networks; or none), on its job's size-capped filesystem.
 */
export class SandboxExecutor implements Executor {
  readonly name = "sandbox" as const;
  private readonly seccomp = seccompFilter();

  constructor(private readonly p: SandboxParts) {
    prepareSlots(p.slots, p.disks, p.netns);
  }

  describe(): string {
    const s = this.p.settings;
    return (
      `sandbox (bubblewrap; uids ${this.p.uidBase}–${this.p.uidBase + this.p.slots - 1}; network ${s.network}; ` +
      `1x = ${formatBytes(s.memoryPerSizeBytes)} and ${s.cpusPerSize} CPU, at most ${formatBytes(s.memoryMaxBytes)}; ${s.pids} processes; ` +
      `disk ${s.diskBytes === null ? "unlimited" : formatBytes(s.diskBytes)} per job; cgroup v${this.p.layout.version})`
    );
  }

  async job(slot: number): Promise<JobSandbox> {
    const disk = await this.p.disks.take(slot);
    const uid = this.p.uidBase + slot;
    return new SandboxJob(this.p, this.seccomp, slot, { uid, gid: uid }, disk);
  }

  async close(): Promise<void> {
    await this.p.netns?.close();
    await this.p.disks.close();
  }
}

class SandboxJob extends IsolatedJob {
  constructor(
    private readonly p: SandboxParts,
    private readonly seccomp: Buffer,
    private readonly slot: number,
    owner: Owner,
    disk: JobDisk,
  ) {
    super(p.root, owner, disk);
  }

  async step(spec: StepSpec): Promise<StepSandbox> {
    const s = this.p.settings;
    const pipe = spec.pipes[0];
    if (pipe) {
      throw new StepRefusedError(
        `this step runs the pipe ${pipe.pipe}: pipes are containers, and this runner's executor is "sandbox", which runs steps on the runner's own system; a runner with PIPELINES_EXECUTOR=container runs them`,
      );
    }
    const { memory, cpus } = stepResources(s, spec.size);
    const cgroup = StepCgroup.create(this.p.layout, `step-${spec.jobId}-${spec.stepIndex}-${randomBytes(4).toString("hex")}`, { memoryBytes: memory, pids: s.pids, cpus });
    let net: StepNetwork | null;
    try {
      net = this.p.netns ? await this.p.netns.take(this.slot) : null;
    } catch (err) {
      await cgroup.remove();
      throw new Error(`the step's network could not be set up: ${(err as Error).message}`, { cause: err });
    }
    const header = [
      `executor: sandbox (bubblewrap) — uid ${this.owner.uid}, no capabilities; network: ${networkWords(s)}`,
      limitsLine(s, spec.size, memory, cpus),
    ];
    return new SandboxStep(this.p, this.seccomp, this.owner, spec, cgroup, net, memory, header);
  }
}

class SandboxStep implements StepSandbox {
  readonly paths = { cloneDir: STEP_PATHS.cloneDir, home: STEP_PATHS.home, tmp: STEP_PATHS.tmp };
  private tornDown: Promise<void> | null = null;

  constructor(
    private readonly p: SandboxParts,
    private readonly seccomp: Buffer,
    private readonly owner: Owner,
    private readonly spec: StepSpec,
    private readonly cgroup: StepCgroup,
    private readonly net: StepNetwork | null,
    private readonly memory: number,
    readonly header: string[],
  ) {}

  async run(run: RunSpec): Promise<ScriptRun> {
    const { dirs } = this.spec;
    const scriptPath = `${STEP_PATHS.scriptDir}/script.sh`;
    const args = stepBwrapArgs({
      root: this.p.root,
      uid: this.owner.uid,
      gid: this.owner.gid,
      workTree: dirs.workTree,
      home: dirs.home,
      tmp: dirs.tmp,
      repoObjects: dirs.repoObjects,
      sharedNetns: this.net !== null,
      shmBytes: Math.min(this.memory, 1024 ** 3),
      scriptPath,
      command: ["/bin/bash", "-e", scriptPath],
    });
    const [command, argv] = this.net ? ["nsenter", [`--net=${this.net.path}`, "--", "bwrap", ...args]] : ["bwrap", args];
    const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe", "pipe", "pipe", "pipe", "pipe"], env: { PATH: TOOL_PATH } });
    const exited = exitOf(child);
    (child.stdio as unknown as Writable[])[FD.seccomp].end(this.seccomp);
    (child.stdio as unknown as Writable[])[FD.script].end(exportLines(run.env) + buildStepScript(run.commands));
    let initPid: number;
    try {
      initPid = await readChildPid(child);
      // Before the script may start: bubblewrap and the namespace's first process go into the step's cgroup, so
      // everything the script ever starts is born there.
      this.cgroup.add([child.pid as number, initPid]);
    } catch (err) {
      child.kill("SIGKILL");
      await exited.catch(() => undefined);
      throw new Error(`the sandbox could not be started: ${(err as Error).message}`, { cause: err });
    }
    (child.stdio as unknown as Writable[])[FD.block].end("x");

    const outer = child.pid as number;
    let stopping: Promise<void> | null = null;
    const stop = () =>
      (stopping ??= (async () => {
        // SIGTERM to the step's processes (not bubblewrap's), then SIGKILL to the namespace's first process: the
        // kernel then kills every process of the namespace, setsid or not.
        for (const pid of this.cgroup.processes()) if (pid !== outer && pid !== initPid) signal(pid, "SIGTERM");
        const deadline = Date.now() + run.graceMs;
        while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) await new Promise((r) => setTimeout(r, 20));
        signal(initPid, "SIGKILL");
      })());
    return superviseRun({
      child,
      exited,
      output: run.output,
      secrets: run.secrets,
      stop,
      afterExit: async () => undefined, // the namespace ended with the script: nothing of it is left running
      leftoverNotice: "the step's output stayed open after its processes ended",
    });
  }

  async problems(): Promise<string[]> {
    const kills = this.cgroup.oomKills();
    if (kills === 0) return [];
    return [`out of memory (limit ${formatBytes(this.memory)}): the kernel killed ${kills === 1 ? "a process" : `${kills} processes`} of the step. A bigger size (size: 2x) gives a step more memory.`];
  }

  /**
   * The namespace's processes are gone when its first process is; what is left is the runner's bookkeeping — the
   * cgroup (removed as soon as the kernel lets go of it) and the network namespace with its slirp4netns — which is
   * finished in the background, so the step ends without waiting for it.
   */
  teardown(): Promise<void> {
    return (this.tornDown ??= (async () => {
      await this.cgroup.removeSoon(this.p.onError);
      const net = this.net;
      if (net) void net.release().catch(this.p.onError);
    })());
  }
}

/** The step's environment as the first lines of its script (values single-quoted: nothing in them is expanded). */
export function exportLines(env: Readonly<Record<string, string>>): string {
  return Object.entries(env).map(([name, value]) => `export ${name}=${shellQuote(value)}\n`).join("");
}

/** bubblewrap writes `{"child-pid": N}` to its info fd once the namespace's first process exists. */
function readChildPid(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = "";
    const info = (child.stdio as unknown as Readable[])[FD.info];
    let stderr = "";
    child.stderr?.on("data", (b: Buffer) => (stderr += b.toString()));
    const onData = (b: Buffer) => {
      text += b.toString();
      const m = /"child-pid"\s*:\s*(\d+)/.exec(text);
      if (m) {
        info.off("data", onData);
        resolve(Number(m[1]));
      }
    };
    info.on("data", onData);
    child.once("exit", () => setTimeout(() => reject(new Error(stderr.trim() || "bubblewrap exited before starting the step")), 20));
    child.once("error", reject);
  });
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
