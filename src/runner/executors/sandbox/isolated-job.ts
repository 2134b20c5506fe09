import { spawn } from "node:child_process";
import { chown, mkdir } from "node:fs/promises";
import os from "node:os";
import { relative } from "node:path";
import type { Readable } from "node:stream";
import { formatBytes, type ExecutorSettings } from "../../../config/executor-settings";
import type { JobSandbox, Owner, StepSandbox, StepSpec } from "../executor";
import { StepRefusedError } from "../executor";
import { jailArgs } from "./bwrap-args";
import type { JobDisk, JobDisks } from "./job-disk";
import type { NetnsPool } from "./netns-pool";
import { runTool, TOOL_PATH } from "./run-tool";
import type { SandboxRoot } from "./sandbox-root";
import { packScript, streamIn, streamOut, UNPACK_SCRIPT } from "../tar-stream";

/** Starts making every slot's first job filesystem and step network, so the first job waits for neither. */
export function prepareSlots(slots: number, disks: JobDisks, netns: NetnsPool | null): void {
  for (let slot = 0; slot < slots; slot++) {
    disks.prepare(slot);
    netns?.prepare(slot);
  }
}

/** The memory and CPUs of a step of `size` on this runner; refuses a size over the runner's maximum. */
export function stepResources(s: ExecutorSettings, size: number): { memory: number; cpus: number } {
  const memory = size * s.memoryPerSizeBytes;
  if (memory > s.memoryMaxBytes) {
    throw new StepRefusedError(`size ${size}x needs ${formatBytes(memory)} of memory, and this runner gives a step at most ${formatBytes(s.memoryMaxBytes)} (PIPELINES_STEP_MEMORY_MAX); use a smaller size`);
  }
  const cpus = Math.min(size * s.cpusPerSize, Math.max(s.cpusPerSize, os.availableParallelism()));
  return { memory, cpus };
}

/** The network a step gets, in words for its log. */
export function networkWords(s: ExecutorSettings): string {
  return s.network === "none" ? "none" : "internet only (not this machine, not private networks)";
}

/** The limits line at the top of a step's log. */
export function limitsLine(s: ExecutorSettings, size: number, memory: number, cpus: number): string {
  return `limits: memory ${formatBytes(memory)} (size ${size}x), ${s.pids} processes, ${cpus} CPU${cpus === 1 ? "" : "s"}, disk ${s.diskBytes === null ? "unlimited" : formatBytes(s.diskBytes)}`;
}

/**
 * What the sandbox and container executors share for a job: its workspace on a size-capped filesystem of its own,
 * owned by the step's uid, and copies into and out of it that run in a jail (see bwrap-args.ts `jailArgs`) as that
 * uid, so a link among a step's files can never lead the runner's copy out of the job.
 */
export abstract class IsolatedJob implements JobSandbox {
  readonly dir: string;

  constructor(
    protected readonly root: SandboxRoot,
    readonly owner: Owner,
    private readonly disk: JobDisk,
  ) {
    this.dir = disk.dir;
  }

  abstract step(spec: StepSpec): Promise<StepSandbox>;

  /** As the step's uid, inside a jail holding only the job's files and `from` (read-only). */
  async copyIn(from: string, into: string): Promise<void> {
    await this.jail([[from, "/src", "ro"], [this.dir, "/job", "rw"]], 'mkdir -p -- "$1" && cp -R -P --preserve=mode,timestamps -- /src/. "$1/"', `/job/${this.insideJob(into)}`);
  }

  /**
   * As the step's uid (it reads only what the step could), inside a jail holding the job's files (read-only) and `to`;
   * then `to` is handed to root and made readable to the uids of the runner's other slots, which restore it later.
   */
  async copyOut(from: string, to: string, files?: readonly string[]): Promise<void> {
    await mkdir(to, { recursive: true });
    await chown(to, this.owner.uid, this.owner.gid);
    const source = `/job/${this.insideJob(from)}`;
    const binds: Array<[string, string, "ro" | "rw"]> = [[this.dir, "/job", "ro"], [to, "/dst", "rw"]];
    if (files) await this.jail(binds, 'cd -- "$1" && xargs -0 -r cp -P --parents --preserve=mode,timestamps -t /dst --', source, files.join("\0"));
    else await this.jail(binds, 'cp -R -P --preserve=mode,timestamps -- "$1/." /dst/', source);
    await runTool("chown", ["-R", "-h", "0:0", "--", to]);
    await runTool("chmod", ["-R", "a+rX,u+w", "--", to]);
  }

  /** As the step's uid, inside a jail holding only the job's files, read-only; the tar.gz comes out on stdout. */
  packOut(from: string, files?: readonly string[]): Readable {
    const args = jailArgs({ root: this.root, binds: [[this.dir, "/job", "ro"]], uid: this.owner.uid, gid: this.owner.gid, command: ["/bin/sh", "-c", packScript(files !== undefined), "sh", `/job/${this.insideJob(from)}`] });
    return streamOut("bwrap", args, files ? files.map((f) => `${f}\0`).join("") : undefined);
  }

  /** As the step's uid, inside a jail holding only the job's files; the tar.gz goes in on stdin. */
  async unpackIn(into: string, body: Readable): Promise<void> {
    const args = jailArgs({ root: this.root, binds: [[this.dir, "/job", "rw"]], uid: this.owner.uid, gid: this.owner.gid, command: ["/bin/sh", "-c", UNPACK_SCRIPT, "sh", `/job/${this.insideJob(into)}`] });
    await streamIn("bwrap", args, body);
  }

  diskFull(): Promise<boolean> {
    return this.disk.full();
  }

  release(): Promise<void> {
    return this.disk.release();
  }

  private insideJob(path: string): string {
    const rel = relative(this.dir, path);
    if (rel === "" || rel.startsWith("..") || rel.startsWith("/")) throw new Error(`${path} is not inside the job's directory`);
    return rel;
  }

  private jail(binds: Array<[string, string, "ro" | "rw"]>, script: string, arg: string, input?: string): Promise<void> {
    const args = jailArgs({ root: this.root, binds, uid: this.owner.uid, gid: this.owner.gid, command: ["/bin/sh", "-c", script, "sh", arg] });
    return new Promise((resolve, reject) => {
      const child = spawn("bwrap", args, { stdio: [input === undefined ? "ignore" : "pipe", "ignore", "pipe"], env: { PATH: TOOL_PATH, LC_ALL: "C" } });
      let stderr = "";
      child.stderr?.on("data", (b: Buffer) => (stderr += b.toString()));
      child.once("error", reject);
      child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(stderr.trim() || `copy failed (exit code ${code})`))));
      if (input !== undefined) child.stdin?.end(input);
    });
  }
}
