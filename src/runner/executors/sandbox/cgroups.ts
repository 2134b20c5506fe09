import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { mkdir, readdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** The limits a step's processes share. */
export interface CgroupLimits {
  memoryBytes: number;
  /** Processes and threads at once. */
  pids: number;
  /** CPUs' worth of time per period (1.5 = one and a half CPUs). */
  cpus: number;
}

/**
 * The cgroup controllers the sandbox needs, where their hierarchies are mounted and where the runner's own cgroup is
 * in each (v1: one hierarchy per controller; v2: one unified hierarchy). Read from /proc/self/mountinfo and
 * /proc/self/cgroup.
 */
export interface CgroupLayout {
  version: 1 | 2;
  /** The directory under which step cgroups are made, per controller (v2: the same directory for all). */
  parents: { memory: string; pids: string; cpu: string };
}

type Controller = "memory" | "pids" | "cpu";
const CONTROLLERS: Controller[] = ["memory", "pids", "cpu"];

interface Mount {
  root: string;
  point: string;
  fstype: string;
  superOptions: string[];
}

function mounts(): Mount[] {
  const out: Mount[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const dash = line.indexOf(" - ");
    if (dash < 0) continue;
    const left = line.slice(0, dash).split(" ");
    const right = line.slice(dash + 3).split(" ");
    out.push({ root: unescape(left[3] ?? ""), point: unescape(left[4] ?? ""), fstype: right[0] ?? "", superOptions: (right[2] ?? "").split(",") });
  }
  return out;
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Where a cgroup path (as /proc/self/cgroup names it) is in a hierarchy mounted at `m`. */
function inMount(m: Mount, path: string): string | null {
  const root = m.root === "/" ? "" : m.root;
  if (root && path !== root && !path.startsWith(`${root}/`)) return null;
  return join(m.point, path.slice(root.length));
}

/**
 * Finds the hierarchies and the runner's place in them, and the parent directory for step cgroups: `name` below the
 * runner's own cgroup (v1), or — v2, where a cgroup holding processes cannot also enable controllers for children —
 * `name` beside a leaf `runner` the runner moves itself into. `parentOverride` (PIPELINES_CGROUP_PARENT) is a path
 * below the hierarchy root to use instead. Throws with what is missing.
 */
export async function findCgroupLayout(name: string, parentOverride?: string): Promise<CgroupLayout> {
  const all = mounts();
  const own = new Map<string, string>();
  for (const line of readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[2] === "") own.set("", m[3]);
    else for (const c of m[2].split(",")) own.set(c, m[3]);
  }
  const v1 = new Map<Controller, Mount>();
  for (const m of all) {
    if (m.fstype !== "cgroup") continue;
    for (const c of CONTROLLERS) if (m.superOptions.includes(c)) v1.set(c, m);
  }
  if (CONTROLLERS.every((c) => v1.has(c))) {
    const parents = {} as CgroupLayout["parents"];
    for (const c of CONTROLLERS) {
      const m = v1.get(c) as Mount;
      const base = parentOverride ? join(m.point, parentOverride) : inMount(m, own.get(c) ?? "/");
      if (!base) throw new Error(`the runner's ${c} cgroup (${own.get(c)}) is not under the ${c} hierarchy mounted at ${m.point}`);
      parents[c] = join(base, name);
    }
    return { version: 1, parents };
  }
  const unified = all.find((m) => m.fstype === "cgroup2");
  if (!unified) throw new Error(`no cgroup hierarchy with the memory, pids and cpu controllers is mounted (found v1 controllers: ${[...v1.keys()].join(", ") || "none"}, and no cgroup2)`);
  const available = readFileSync(join(unified.point, "cgroup.controllers"), "utf8").trim().split(/\s+/);
  const missing = CONTROLLERS.filter((c) => !available.includes(c));
  if (missing.length) throw new Error(`the cgroup2 hierarchy at ${unified.point} lacks the ${missing.join(", ")} controller${missing.length > 1 ? "s" : ""}`);
  let base: string;
  if (parentOverride) base = join(unified.point, parentOverride);
  else {
    const mine = inMount(unified, own.get("") ?? "/");
    if (!mine) throw new Error(`the runner's cgroup (${own.get("")}) is not under ${unified.point}`);
    base = mine === unified.point ? join(unified.point, "pipelines") : mine;
    if (base !== join(unified.point, "pipelines")) await moveSelfToLeaf(base);
  }
  await mkdir(base, { recursive: true });
  await enableControllers(unified.point, base);
  const parent = join(base, name);
  await mkdir(parent, { recursive: true });
  await enableControllers(unified.point, parent);
  return { version: 2, parents: { memory: parent, pids: parent, cpu: parent } };
}

/** v2: a cgroup with processes cannot hand controllers to children; the runner moves into `<own>/runner` first. */
async function moveSelfToLeaf(own: string): Promise<void> {
  const procs = (await readFile(join(own, "cgroup.procs"), "utf8")).trim();
  if (!procs) return;
  const leaf = join(own, "runner");
  await mkdir(leaf, { recursive: true });
  for (const pid of procs.split("\n")) {
    await writeFile(join(leaf, "cgroup.procs"), pid).catch(() => undefined); // a process that exited meanwhile
  }
}

/** v2: turns on +memory +pids +cpu for the children of every directory from the root down to `dir`. */
async function enableControllers(root: string, dir: string): Promise<void> {
  const chain: string[] = [];
  for (let d = dir; d.startsWith(root) && d !== root; d = join(d, "..")) chain.unshift(d);
  for (const d of [root, ...chain]) {
    const control = join(d, "cgroup.subtree_control");
    const on = (await readFile(control, "utf8")).trim().split(/\s+/);
    const needed = CONTROLLERS.filter((c) => !on.includes(c));
    if (needed.length) await writeFile(control, needed.map((c) => `+${c}`).join(" "));
  }
}

/** One step's cgroup: its limits, its processes, its out-of-memory kills. */
export class StepCgroup {
  private readonly dirs: Record<Controller, string>;
  private oomBaseline = 0;

  private constructor(
    private readonly layout: CgroupLayout,
    name: string,
  ) {
    this.dirs = { memory: join(layout.parents.memory, name), pids: join(layout.parents.pids, name), cpu: join(layout.parents.cpu, name) };
  }

  /**
   * Makes the cgroup with its limits. cgroupfs files are memory, not disk: they are read and written synchronously
   * (a promise-based write costs milliseconds of thread-pool round trips each; these take microseconds).
   */
  static create(layout: CgroupLayout, name: string, limits: CgroupLimits): StepCgroup {
    const cg = new StepCgroup(layout, name);
    for (const dir of new Set(Object.values(cg.dirs))) mkdirSync(dir, { recursive: true });
    const { memory, pids, cpu } = cg.dirs;
    const quota = Math.max(1000, Math.round(limits.cpus * 100_000));
    if (layout.version === 1) {
      writeFileSync(join(memory, "memory.limit_in_bytes"), String(limits.memoryBytes));
      // Without this, swap would let a step go past its memory (only present when swap accounting is on).
      if (existsSync(join(memory, "memory.memsw.limit_in_bytes"))) writeFileSync(join(memory, "memory.memsw.limit_in_bytes"), String(limits.memoryBytes));
      writeFileSync(join(pids, "pids.max"), String(limits.pids));
      writeFileSync(join(cpu, "cpu.cfs_period_us"), "100000");
      writeFileSync(join(cpu, "cpu.cfs_quota_us"), String(quota));
    } else {
      writeFileSync(join(memory, "memory.max"), String(limits.memoryBytes));
      if (existsSync(join(memory, "memory.swap.max"))) writeFileSync(join(memory, "memory.swap.max"), "0");
      writeFileSync(join(pids, "pids.max"), String(limits.pids));
      writeFileSync(join(cpu, "cpu.max"), `${quota} 100000`);
    }
    cg.oomBaseline = cg.oomKillCount();
    return cg;
  }

  /** A step cgroup that already exists (left by a runner that died). */
  static existing(layout: CgroupLayout, name: string): StepCgroup {
    return new StepCgroup(layout, name);
  }

  /** Moves processes in (their children made later are born inside). */
  add(pids: readonly number[]): void {
    for (const dir of new Set(Object.values(this.dirs))) {
      for (const pid of pids) writeFileSync(join(dir, "cgroup.procs"), String(pid));
    }
  }

  /** Every process in the cgroup now. */
  processes(): number[] {
    let text = "";
    try {
      text = readFileSync(join(this.dirs.pids, "cgroup.procs"), "utf8");
    } catch {
      // removed already
    }
    return text.split("\n").filter(Boolean).map(Number);
  }

  /** Processes the kernel killed for want of memory since the cgroup was made. */
  oomKills(): number {
    return this.oomKillCount() - this.oomBaseline;
  }

  private oomKillCount(): number {
    const file = this.layout.version === 1 ? "memory.oom_control" : "memory.events";
    let text: string;
    try {
      text = readFileSync(join(this.dirs.memory, file), "utf8");
    } catch {
      return 0;
    }
    const m = /^oom_kill (\d+)$/m.exec(text);
    return m ? Number(m[1]) : 0;
  }

  /**
   * Removes the cgroup now if the kernel has finished tearing its processes down, else keeps trying in the background
   * (a step's end need not wait for that); `onError` hears of a cgroup that could not be removed.
   */
  async removeSoon(onError: (err: unknown) => void): Promise<void> {
    if (this.tryRemove()) return;
    void this.remove().catch(onError);
  }

  private tryRemove(): boolean {
    try {
      for (const dir of new Set(Object.values(this.dirs))) {
        try {
          rmdirSync(dir);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
        }
      }
      return true;
    } catch {
      return false;
    }
  }

  /** SIGKILLs whatever is left and removes the cgroup (a few tries while the kernel finishes tearing processes down). */
  async remove(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      for (const pid of this.processes()) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }
      try {
        for (const dir of new Set(Object.values(this.dirs))) await rmdir(dir).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== "ENOENT") throw e;
        });
        return;
      } catch (err) {
        if (attempt >= 50) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

/**
 * Removes the step cgroups a runner that died left under the parents (killing what is still in them), so their
 * processes cannot outlive it.
 */
export async function removeLeftoverCgroups(layout: CgroupLayout): Promise<number> {
  let removed = 0;
  const names = new Set<string>();
  for (const parent of new Set(Object.values(layout.parents))) {
    await mkdir(parent, { recursive: true });
    for (const e of await readdir(parent, { withFileTypes: true })) if (e.isDirectory() && e.name.startsWith("step-")) names.add(e.name);
  }
  for (const name of names) {
    await StepCgroup.existing(layout, name).remove();
    removed++;
  }
  return removed;
}
