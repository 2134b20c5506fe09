import { open, readdir, readFile, rm, rmdir, statfs } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createWorkspace, removeWorkspace } from "../../workspace";
import { PreparedPool } from "./prepared-pool";
import { runTool } from "./run-tool";

/** A job's workspace: a directory, and when the disk is capped, an ext4 filesystem of its own mounted there. */
export interface JobDisk {
  readonly dir: string;
  /** True when less than 0.5 % (at least 16 MiB) of the filesystem is free. */
  full(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * Workspaces for jobs, each on a filesystem of its own whose size is the cap (PIPELINES_STEP_DISK): a sparse image
 * file formatted ext4 and loop-mounted (nosuid, nodev) over the workspace directory, so the kernel refuses the write
 * that would go past the cap — the checkout, every step's work tree, HOME and /tmp count. Formatting and mounting
 * take ~70 ms, so one is made ahead per slot, while the slot's previous job runs. Releasing unmounts it and deletes
 * the image: nothing of a job is left for the next. Without a cap (`null`) a workspace is a plain directory.
 */
export class JobDisks {
  private readonly pool = new PreparedPool<JobDisk>(() => this.make());

  constructor(
    private readonly root: string,
    private readonly sizeBytes: number | null,
  ) {}

  /** Unmounts and deletes what a runner that died left under the root. */
  async removeLeftovers(): Promise<number> {
    const root = resolve(this.root);
    const mounted = (await readFile("/proc/self/mountinfo", "utf8"))
      .split("\n")
      .map((line) => line.split(" ")[4])
      .filter((point): point is string => typeof point === "string" && point.startsWith(`${root}/`));
    for (const point of mounted.reverse()) await runTool("umount", ["-l", point]).catch(() => undefined);
    let removed = 0;
    for (const name of await readdir(root).catch(() => [] as string[])) {
      if (!name.startsWith("ws-")) continue;
      const path = join(root, name);
      if (name.endsWith(".img")) await rm(path, { force: true });
      else await removeWorkspace(path);
      removed++;
    }
    return removed;
  }

  /** The workspace for the next job on `slot`; the slot's next one is made while this one runs. */
  async take(slot: number): Promise<JobDisk> {
    const disk = await this.pool.take(slot);
    // A job lasts seconds at least: making the next workspace now delays nothing that waits.
    setTimeout(() => this.pool.prepare(slot), 1000).unref();
    return disk;
  }

  prepare(slot: number): void {
    this.pool.prepare(slot);
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async make(): Promise<JobDisk> {
    const dir = await createWorkspace(this.root);
    if (this.sizeBytes === null) {
      return { dir, full: async () => false, release: () => removeWorkspace(dir) };
    }
    const image = `${dir}.img`;
    const release = async () => {
      await runTool("umount", [dir]).catch(() => runTool("umount", ["-l", dir]).catch(() => undefined));
      await rm(image, { force: true });
      await rmdir(dir).catch(() => removeWorkspace(dir));
    };
    try {
      const handle = await open(image, "wx", 0o600);
      await handle.truncate(this.sizeBytes);
      await handle.close();
      // No journal (the filesystem lives one job), inode tables left for the kernel never to zero (noinit_itable).
      await runTool("mkfs.ext4", ["-q", "-F", "-m", "0", "-O", "^has_journal", "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard,root_owner=0:0", image]);
      await runTool("mount", ["-o", "loop,nosuid,nodev,noatime,noinit_itable", image, dir]);
      await rmdir(join(dir, "lost+found")).catch(() => undefined);
    } catch (err) {
      await release();
      throw err;
    }
    const size = this.sizeBytes;
    return {
      dir,
      async full() {
        const s = await statfs(dir);
        return s.bavail * s.bsize < Math.max(16 * 1024 * 1024, size * 0.005);
      },
      release,
    };
  }
}
