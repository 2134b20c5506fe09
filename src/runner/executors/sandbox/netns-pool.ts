import { spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { routeCommands } from "./network-policy";
import { PreparedPool } from "./prepared-pool";
import { runTool } from "./run-tool";

/** A network namespace with slirp4netns attached and the routes of network-policy.ts, for one step. */
export interface StepNetwork {
  /** For `nsenter --net=` and `podman --network ns:`. */
  readonly path: string;
  /** Ends slirp4netns and deletes the namespace. Idempotent. */
  release(): Promise<void>;
}

const NETNS_DIR = "/run/netns";

/**
 * Network namespaces made ahead of time, one waiting per slot, so that a step does not wait the ~10 ms slirp4netns
 * takes to come up. Each is used by one step only, then deleted; the next one is made in the background.
 * Names start with `pl-<key>-`, so a runner that starts again deletes what one that died left (`ip netns`), and
 * slirp4netns ends by itself when the runner that started it goes (`--exit-fd`).
 */
export class NetnsPool {
  private readonly pool = new PreparedPool<StepNetwork>((slot) => this.make(slot));
  private counter = 0;

  constructor(
    private readonly key: string,
    private readonly allow: readonly string[],
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Deletes namespaces a previous runner with the same key left. */
  async removeLeftovers(): Promise<number> {
    const { stdout } = await runTool("ip", ["netns", "list"]);
    const names = stdout.split("\n").map((l) => l.split(" ")[0]).filter((n) => n.startsWith(`pl-${this.key}-`));
    for (const name of names) await runTool("ip", ["netns", "delete", name]).catch(this.onError);
    return names.length;
  }

  /** The namespace for the next step on `slot`; releasing it starts making the slot's next one. */
  async take(slot: number): Promise<StepNetwork> {
    const net = await this.pool.take(slot);
    return {
      path: net.path,
      release: async () => {
        setImmediate(() => this.pool.prepare(slot));
        await net.release();
      },
    };
  }

  prepare(slot: number): void {
    this.pool.prepare(slot);
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async make(slot: number): Promise<StepNetwork> {
    const name = `pl-${this.key}-${slot}-${this.counter++}`;
    const path = `${NETNS_DIR}/${name}`;
    await runTool("ip", ["netns", "add", name]);
    let slirp: ReturnType<typeof spawn> | null = null;
    const release = async () => {
      if (slirp && slirp.exitCode === null && slirp.signalCode === null) {
        const gone = new Promise((r) => slirp?.once("exit", r));
        (slirp.stdio[4] as Writable | null)?.end();
        slirp.kill("SIGKILL");
        await gone;
      }
      slirp = null;
      await runTool("ip", ["netns", "delete", name]).catch(this.onError);
    };
    try {
      slirp = spawn(
        "slirp4netns",
        ["--configure", "--mtu=65520", "--disable-host-loopback", "--netns-type=path", "--ready-fd=3", "--exit-fd=4", path, "tap0"],
        { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"], env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } },
      );
      await slirpReady(slirp);
      await runTool("ip", ["-n", name, "-batch", "-"], routeCommands(this.allow).join("\n") + "\n");
      return { path, release: once(release) };
    } catch (err) {
      await release();
      throw err;
    }
  }
}

/** Resolves when slirp4netns writes to its ready fd; rejects with its stderr when it exits first. */
function slirpReady(slirp: ReturnType<typeof spawn>): Promise<void> {
  return new Promise((resolve, reject) => {
    let stderr = "";
    (slirp.stdio[2] as Readable).on("data", (b: Buffer) => (stderr += b.toString()));
    (slirp.stdio[3] as Readable).once("data", () => resolve());
    slirp.once("error", reject);
    slirp.once("exit", (code) => reject(new Error(`slirp4netns exited (${code ?? "signal"}): ${stderr.trim() || "no message"}`)));
  });
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | null = null;
  return () => (p ??= fn());
}
