import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { formatBytes, type ExecutorSettings } from "../../../config/executor-settings";
import type { ImageSpec, ServiceSpec } from "../../../pipelines";
import { buildStepScript, shellQuote } from "../../build-step-script";
import { exitOf, superviseRun, type ScriptRun } from "../../run-script";
import type { Executor, JobSandbox, Owner, PipeRunSpec, RunSpec, StepSandbox, StepSpec } from "../executor";
import { StepRefusedError } from "../executor";
import { IsolatedJob, limitsLine, networkWords, prepareSlots, stepResources } from "../sandbox/isolated-job";
import { runTool } from "../sandbox/run-tool";
import type { JobDisk, JobDisks } from "../sandbox/job-disk";
import type { NetnsPool, StepNetwork } from "../sandbox/netns-pool";
import { STEP_PATHS, type SandboxRoot } from "../sandbox/sandbox-root";
import { expandVariables, pipeEnvironment, pipeImage } from "./pipes";
import type { Podman } from "./podman";
import { pullImage, type PrivateImages } from "./pull-image";

export interface ContainerParts {
  settings: ExecutorSettings;
  slots: number;
  /** The first host uid of slot 0's range: a container's root is this uid (+ 65536 × slot) on the runner. */
  uidBase: number;
  root: SandboxRoot;
  disks: JobDisks;
  netns: NetnsPool | null;
  podman: Podman;
  /** Labels this runner's containers, so a runner that starts again removes what one that died left. */
  key: string;
  privateImages: PrivateImages;
}

/** 65,536 uids per slot: a container's uid N is the runner's uid base + N. */
export const UIDS_PER_SLOT = 65536;

/** Bitbucket's default build image, for a step that names none. */
const NO_IMAGE = "the runner's default image";

/**
 * `container`: every step in a container of its `image:` (podman), its `services:` in containers of their own on the
 * step's network namespace (so they answer on localhost, as on Bitbucket), its pipes in containers of theirs. The
 * containers' root is an unprivileged uid range of the runner's (user namespace), their network the same
 * internet-only namespace as the sandbox's, the step's files the same size-capped job filesystem, and every container
 * of a step is removed when the step ends.
 */
export class ContainerExecutor implements Executor {
  readonly name = "container" as const;

  constructor(private readonly p: ContainerParts) {
    prepareSlots(p.slots, p.disks, p.netns);
  }

  describe(): string {
    const s = this.p.settings;
    return (
      `container (podman; container root = uid ${this.p.uidBase}+65536×slot; network ${s.network}; default image ${s.defaultImage}; ` +
      `1x = ${formatBytes(s.memoryPerSizeBytes)} and ${s.cpusPerSize} CPU, at most ${formatBytes(s.memoryMaxBytes)}; ${s.pids} processes; ` +
      `disk ${s.diskBytes === null ? "unlimited" : formatBytes(s.diskBytes)} per job)`
    );
  }

  async job(slot: number): Promise<JobSandbox> {
    const disk = await this.p.disks.take(slot);
    const uid = this.p.uidBase + slot * UIDS_PER_SLOT;
    return new ContainerJob(this.p, slot, { uid, gid: uid }, disk);
  }

  async close(): Promise<void> {
    await removeContainers(this.p.podman, `pipelines.runner=${this.p.key}`);
    await this.p.netns?.close();
    await this.p.disks.close();
  }
}

/** Removes every container with `label` (running or not). */
export async function removeContainers(podman: Podman, label: string): Promise<number> {
  const ids = (await podman.run(["ps", "-aq", "--filter", `label=${label}`])).stdout.split("\n").filter(Boolean);
  if (ids.length) await podman.run(["rm", "-f", "-t", "0", ...ids]);
  return ids.length;
}

class ContainerJob extends IsolatedJob {
  constructor(
    private readonly p: ContainerParts,
    private readonly slot: number,
    owner: Owner,
    disk: JobDisk,
  ) {
    super(p.root, owner, disk);
  }

  async step(spec: StepSpec): Promise<StepSandbox> {
    const s = this.p.settings;
    const docker = spec.services.find((svc) => svc.type === "docker" || svc.name === "docker");
    if (docker) {
      throw new StepRefusedError(
        "the docker service (Docker in Docker) is not available on this runner: a step's containers may not start containers of their own here. Build images with a pipe or a tool that needs no daemon (buildah, kaniko), or run the step on a runner of your own",
      );
    }
    const { memory, cpus } = stepResources(s, spec.size);
    const serviceMemory = spec.services.reduce((sum, svc) => sum + (svc.memoryMb ?? 1024) * 1024 * 1024, 0);
    const buildMemory = memory - serviceMemory;
    if (buildMemory < 256 * 1024 * 1024) {
      throw new StepRefusedError(`the services of this step take ${formatBytes(serviceMemory)} of its ${formatBytes(memory)}, leaving too little for the step itself (at least 256 MiB); give the services less memory or the step a bigger size`);
    }
    const image = spec.image ?? { name: s.defaultImage };
    const id = `pl-${this.p.key}-${spec.jobId}-${spec.stepIndex}-${randomBytes(3).toString("hex")}`;
    const step = new ContainerStep(this.p, this.owner, spec, id, buildMemory, cpus);
    try {
      // Pull first (a registry's refusal fails the step naming the image), then the services, then the step.
      await pullImage(this.p.podman, this.p.privateImages, image, spec.env, spec.applicationId);
      for (const svc of spec.services) {
        if (!svc.image) throw new StepRefusedError(`service "${svc.name}" has no image in definitions.services`);
        await pullImage(this.p.podman, this.p.privateImages, svc.image, spec.env, spec.applicationId);
      }
      await step.start(this.p.netns ? await this.p.netns.take(this.slot) : null, image);
    } catch (err) {
      await step.teardown();
      throw err;
    }
    step.header.push(
      `executor: container (podman) — image ${spec.image ? image.name : `${image.name} (${NO_IMAGE})`}${image.runAsUser !== undefined ? ` as uid ${image.runAsUser}` : ""}` +
        `${spec.services.length ? `; services ${spec.services.map((svc) => svc.name).join(", ")} on localhost` : ""}; network: ${networkWords(s)}`,
      limitsLine(s, spec.size, memory, cpus) + (spec.services.length ? ` (${formatBytes(serviceMemory)} of it for services)` : ""),
    );
    return step;
  }
}

/** Runs the script that arrives on stdin with bash when the image has it, else sh (the script never goes in argv). */
const LAUNCH = `if [ -x /bin/bash ]; then exec /bin/bash -e -c 'eval "$(cat)"'; fi; exec /bin/sh -e -c 'eval "$(cat)"'`;

/**
 * One step: its services, started before it; then one container of its image for the script and one for the
 * after-script (the same files, HOME, /tmp and network: a step's processes do not outlive its script, as in the other
 * executors), and one per pipe. podman's `--init` is each container's first process, so a stop reaches the
 * script's processes before they are killed.
 */
class ContainerStep implements StepSandbox {
  readonly paths = { cloneDir: STEP_PATHS.cloneDir, home: STEP_PATHS.home, tmp: STEP_PATHS.tmp };
  readonly header: string[] = [];
  private net: StepNetwork | null = null;
  private image: ImageSpec | null = null;
  private user: string | null = null;
  private readonly runs: string[] = [];
  private oomKilled = false;
  private tornDown: Promise<void> | null = null;

  constructor(
    private readonly p: ContainerParts,
    private readonly owner: Owner,
    private readonly spec: StepSpec,
    private readonly id: string,
    private readonly memory: number,
    private readonly cpus: number,
  ) {}

  /** The flags every container of the step shares: labels, user namespace, network, limits. */
  private common(name: string, memory: number): string[] {
    const { uid } = this.owner;
    const s = this.p.settings;
    const nofile = openFilesLimit();
    return [
      "--name", name,
      "--label", `pipelines.runner=${this.p.key}`,
      "--label", `pipelines.step=${this.id}`,
      "--uidmap", `0:${uid}:${UIDS_PER_SLOT}`,
      "--gidmap", `0:${uid}:${UIDS_PER_SLOT}`,
      "--network", this.net ? `ns:${this.net.path}` : "none",
      "--memory", String(memory),
      "--memory-swap", String(memory),
      "--pids-limit", String(s.pids),
      "--cpus", String(this.cpus),
      "--ulimit", `nofile=${nofile}:${nofile}`,
      "--ulimit", `nproc=${s.pids}:${s.pids}`,
      "--pull", "never",
      "--init",
    ];
  }

  private volumes(): string[] {
    const { dirs } = this.spec;
    const v = ["-v", `${dirs.workTree}:${STEP_PATHS.cloneDir}`, "-v", `${dirs.home}:${STEP_PATHS.home}`, "-v", `${dirs.tmp}:${STEP_PATHS.tmp}`];
    if (dirs.repoObjects) v.push("-v", `${dirs.repoObjects}:${STEP_PATHS.repoObjects}:ro`);
    return v;
  }

  async start(net: StepNetwork | null, image: ImageSpec): Promise<void> {
    this.net = net;
    this.image = image;
    for (const svc of this.spec.services) await this.startService(svc);
    this.user = image.runAsUser !== undefined ? String(image.runAsUser) : null;
    if (this.user !== null) await this.chownFor(Number(this.user));
  }

  private async startService(svc: ServiceSpec): Promise<void> {
    const name = `${this.id}-svc-${svc.name.replace(/[^A-Za-z0-9_.-]/g, "-")}`;
    const env = Object.entries(svc.variables).map(([k, v]) => [k, expandVariables(v, this.spec.env)] as const);
    const bad = env.find(([k, v]) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || v.includes("\n"));
    if (bad) throw new StepRefusedError(`service "${svc.name}": variable ${bad[0]} must be a name with a one-line value`);
    await withEnvFile(env, async (file) => {
      await this.p.podman.ok(["run", "-d", ...this.common(name, (svc.memoryMb ?? 1024) * 1024 * 1024), "--env-file", file, (svc.image as ImageSpec).name]).catch((err: Error) => {
        throw new StepRefusedError(`service "${svc.name}" (${svc.image?.name}) could not be started: ${err.message}`);
      });
    });
  }

  /** run-as-user N: the step's files belong to the container's uid N. */
  private async chownFor(uid: number): Promise<void> {
    const host = this.owner.uid + uid;
    for (const dir of [this.spec.dirs.workTree, this.spec.dirs.home, this.spec.dirs.tmp]) await runTool("chown", ["-R", "-h", `${host}:${host}`, "--", dir]);
  }

  async run(run: RunSpec): Promise<ScriptRun> {
    const name = `${this.id}-run-${this.runs.length + 1}`;
    await this.p.podman.ok([
      "create", "-i", ...this.common(name, this.memory), "--hostname", "pipelines", ...this.volumes(), "-w", STEP_PATHS.cloneDir,
      ...(this.user !== null ? ["--user", this.user] : []),
      "--entrypoint", "/bin/sh", (this.image as ImageSpec).name, "-c", LAUNCH,
    ]).catch((err: Error) => {
      throw new StepRefusedError(`the image ${this.image?.name} could not be started: ${err.message}`);
    });
    this.runs.push(name);
    return this.attach(name, exportLines(run.env) + buildStepScript(run.commands), run.output, run.secrets, run.graceMs);
  }

  async runPipe(run: PipeRunSpec): Promise<ScriptRun> {
    const image = pipeImage(run.pipe.pipe);
    await pullImage(this.p.podman, this.p.privateImages, { name: image }, this.spec.env, this.spec.applicationId);
    const env = pipeEnvironment(run.pipe, run.env);
    const name = `${this.id}-run-${this.runs.length + 1}`;
    // The pipe's own command, run once its environment has arrived on stdin (so no value is in argv or on disk), in
    // the clone where its storage directory is made first.
    const [entrypoint, cmd] = await imageCommand(this.p.podman, image);
    await this.p.podman.ok([
      "create", "-i", ...this.common(name, this.memory), "-v", `${this.spec.dirs.workTree}:${STEP_PATHS.cloneDir}`, "-w", STEP_PATHS.cloneDir,
      "--entrypoint", "/bin/sh", image, "-c", 'eval "$(cat)"; mkdir -p "$BITBUCKET_PIPE_STORAGE_DIR"; exec "$@"', "pipe", ...entrypoint, ...cmd,
    ]);
    this.runs.push(name);
    return this.attach(name, exportLines(env), run.output, run.secrets, run.graceMs);
  }

  /** Starts a created container with `input` on its stdin and passes its output on, masked. */
  private attach(name: string, input: string, output: RunSpec["output"], secrets: readonly string[], graceMs: number): ScriptRun {
    const child = this.p.podman.spawn(["start", "-a", "-i", name], ["pipe", "pipe", "pipe"]);
    (child.stdin as Writable).end(input);
    let stopping: Promise<void> | null = null;
    const stop = () =>
      (stopping ??= (async () => {
        await this.p.podman.run(["kill", "--signal", "TERM", name]);
        const deadline = Date.now() + graceMs;
        while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) await new Promise((r) => setTimeout(r, 50));
        await this.p.podman.run(["kill", name]);
      })());
    return superviseRun({
      child,
      exited: exitOf(child),
      output,
      secrets,
      stop,
      afterExit: async () => {
        const r = await this.p.podman.run(["inspect", "--format", "{{.State.OOMKilled}}", name]);
        if (r.stdout.trim() === "true") this.oomKilled = true;
        await this.p.podman.run(["rm", "-f", "-t", "0", name]);
      },
      leftoverNotice: "the step's output stayed open after its container ended",
    });
  }

  async problems(): Promise<string[]> {
    if (!this.oomKilled) return [];
    return [`out of memory (limit ${formatBytes(this.memory)}): the kernel killed a process of the step's container. A bigger size (size: 2x) gives a step more memory.`];
  }

  teardown(): Promise<void> {
    return (this.tornDown ??= (async () => {
      await removeContainers(this.p.podman, `pipelines.step=${this.id}`);
      await this.net?.release();
    })());
  }
}

/** The image's entrypoint and command (JSON arrays in its config). */
async function imageCommand(podman: Podman, image: string): Promise<[string[], string[]]> {
  const out = await podman.ok(["image", "inspect", "--format", "{{json .Config.Entrypoint}}\n{{json .Config.Cmd}}", image]);
  const [e, c] = out.trim().split("\n").map((line) => (JSON.parse(line || "null") as string[] | null) ?? []);
  if (!e.length && !c.length) throw new StepRefusedError(`the pipe image ${image} has neither an entrypoint nor a command`);
  return [e, c];
}

function exportLines(env: Readonly<Record<string, string>>): string {
  return Object.entries(env).map(([name, value]) => `export ${name}=${shellQuote(value)}\n`).join("");
}

/** Writes `env` to a 0600 file in a private directory (RAM when /dev/shm exists) for `work`, removed afterwards. */
async function withEnvFile<T>(env: ReadonlyArray<readonly [string, string]>, work: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(os.platform() === "linux" ? "/dev/shm" : os.tmpdir(), "pipelines-env-"));
  try {
    const file = join(dir, "env");
    await writeFile(file, env.map(([k, v]) => `${k}=${v}\n`).join(""), { mode: 0o600 });
    return await work(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let nofile: number | undefined;
/** The runner's own open-files limit: a container may not get more (raising it needs a capability we may lack). */
function openFilesLimit(): number {
  if (nofile === undefined) {
    const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    nofile = m && m[1] !== "unlimited" ? Number(m[1]) : 1024;
  }
  return nofile;
}
