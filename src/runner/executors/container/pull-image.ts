import { readFileSync } from "node:fs";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import type { ImageSpec } from "../../../pipelines";
import { StepRefusedError } from "../executor";
import { expandVariables } from "./pipes";
import type { Podman } from "./podman";

/**
 * Images this runner pulled with an application's credentials, and for which applications. Another application (or
 * the same one without credentials) must pull such an image again with credentials of its own — the runner's copy
 * never hands a private image to someone the registry would refuse. Kept in a file of the runner's state directory,
 * so a restart does not forget which local images are private.
 */
export class PrivateImages {
  private readonly owners = new Map<string, Set<number>>();

  constructor(private readonly file: string) {
    try {
      const data = JSON.parse(readFileSync(file, "utf8")) as Record<string, number[]>;
      for (const [image, apps] of Object.entries(data)) this.owners.set(image, new Set(apps));
    } catch {
      // none yet
    }
  }

  get(image: string): Set<number> | undefined {
    return this.owners.get(image);
  }

  async add(image: string, applicationId: number): Promise<void> {
    const set = this.owners.get(image) ?? new Set<number>();
    set.add(applicationId);
    this.owners.set(image, set);
    await this.save();
  }

  async forget(image: string): Promise<void> {
    if (this.owners.delete(image)) await this.save();
  }

  private async save(): Promise<void> {
    const data = Object.fromEntries([...this.owners].map(([k, v]) => [k, [...v]]));
    await writeFile(`${this.file}.tmp`, JSON.stringify(data), { mode: 0o600 });
    await rename(`${this.file}.tmp`, this.file);
  }
}

/** The registry an image name is pulled from (Docker Hub when the first part is not a host). */
export function registryOf(image: string): string {
  const first = image.split("/")[0];
  return image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost") ? first : "docker.io";
}

/**
 * Makes sure `image` is on this runner, as the step is allowed to have it: with credentials (`username`/`password`,
 * `$VARIABLES` expanded from the step's environment) it is always pulled with them — written to a 0600 auth file
 * in a private directory, never in argv or a log — and remembered as private; without, a local copy is used unless
 * it is one pulled privately for someone else. A registry's refusal fails the step naming the image and the answer.
 */
export async function pullImage(podman: Podman, privateImages: PrivateImages, image: ImageSpec, env: Readonly<Record<string, string>>, applicationId: number): Promise<void> {
  const username = image.username === undefined ? "" : expandVariables(image.username, env);
  const password = image.password === undefined ? "" : expandVariables(image.password, env);
  const registry = registryOf(image.name);
  if (username || password) {
    if (!username || !password) throw new StepRefusedError(`the image ${image.name} has ${username ? "a username but no password" : "a password but no username"} (after its variables were expanded)`);
    await withAuthFile(registry, username, password, async (authfile) => {
      const r = await podman.run(["pull", "--quiet", "--authfile", authfile, image.name]);
      if (r.code !== 0) throw new StepRefusedError(`the image ${image.name} could not be pulled from ${registry}: ${answer(r.stderr)}`);
    });
    await privateImages.add(image.name, applicationId);
    return;
  }
  const privateFor = privateImages.get(image.name);
  // A private image is used again only by an application that pulled it with its credentials... which this step has not given.
  const local = privateFor === undefined && (await podman.run(["image", "exists", image.name])).code === 0;
  if (local) return;
  const r = await podman.run(["pull", "--quiet", image.name]);
  if (r.code !== 0) throw new StepRefusedError(`the image ${image.name} could not be pulled from ${registry}: ${answer(r.stderr)}`);
  await privateImages.forget(image.name); // pulled without credentials: public now
}

/** podman's message, without its "Error:" prefix and repeated lines. */
function answer(stderr: string): string {
  const lines = [...new Set(stderr.split("\n").map((l) => l.replace(/^Error: /, "").trim()).filter(Boolean))];
  return lines.join("; ") || "no answer";
}

async function withAuthFile(registry: string, username: string, password: string, work: (file: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(os.platform() === "linux" ? "/dev/shm" : os.tmpdir(), "pipelines-auth-"));
  try {
    const file = join(dir, "auth.json");
    const auth = Buffer.from(`${username}:${password}`).toString("base64");
    await writeFile(file, JSON.stringify({ auths: { [registry]: { auth } } }), { mode: 0o600 });
    await work(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
