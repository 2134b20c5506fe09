import fs from "node:fs";
import { wantsHelp } from "./cli-help";
import path from "node:path";

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

const ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? "../../.." : "../..");
const APP_ID = /^ari:cloud:ecosystem::app\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/**
 * The page scripts and styles of the service (public/) that the Forge app's pages run, unchanged: every file a page
 * shown through Forge lists (the panel, the builds page, the Deployments page, the repository's settings).
 */
export const PAGE_ASSETS = ["pipelines.css", "configure.css", "pipelines.js", "panel.js", "builds.js", "schedules.js", "deployments.js", "configure.js", "environments-settings.js"];
/** The Forge-only files of the pages (forge/ui/): the static page Forge hosts and the script that fills it in. */
const FORGE_UI = ["index.html", "forge-boot.js"];

const USAGE = "usage: pipelines forge manifest --app-id <ari:cloud:ecosystem::app/uuid | uuid> --base-url <https URL of this service> [--out <dir>]";

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** forge/manifest.yml with the operator's app id and the remote's base URL in place of the placeholders. */
export function fillManifest(template: string, appId: string, baseUrl: string): string {
  const lines = template.split("\n");
  let filled = 0;
  const out = lines.map((line) => {
    if (line.includes("# {{APP_ID}}")) {
      filled++;
      return line.replace(/id: \S+ # \{\{APP_ID\}\}/, `id: ${appId}`);
    }
    if (line.includes("# {{BASE_URL}}")) {
      filled++;
      return line.replace(/(baseUrl: |- address: )\S+ # \{\{BASE_URL\}\}.*$/, `$1${baseUrl}`);
    }
    return line;
  });
  if (filled !== 3) throw new Error("forge/manifest.yml has lost its {{APP_ID}} / {{BASE_URL}} placeholders");
  return out.join("\n");
}

/** Copies the Custom UI resource: forge/ui's page and boot script, and the service's own page scripts and styles. */
export function buildCustomUi(outDir: string): string[] {
  fs.mkdirSync(outDir, { recursive: true });
  const copied: string[] = [];
  for (const [dir, files] of [[path.join(ROOT, "forge", "ui"), FORGE_UI], [path.join(ROOT, "public"), PAGE_ASSETS]] as const) {
    for (const f of files) {
      fs.copyFileSync(path.join(dir, f), path.join(outDir, f));
      copied.push(f);
    }
  }
  return copied;
}

/**
 * `pipelines forge manifest --app-id … --base-url …`: writes what an operator deploys with Atlassian's Forge CLI to
 * `forge/build/` (or `--out`): the filled-in manifest.yml, a package.json, and the Custom UI resource in static/pages.
 */
export async function main(args: string[], io: Output): Promise<number> {
  if (wantsHelp(args)) {
    io.out(USAGE);
    return 0;
  }
  if (args[0] !== "manifest") {
    if (args[0] !== undefined) io.err(`pipelines forge: unknown command "${args[0]}" (the command is manifest)`);
    io.err(USAGE);
    return 2;
  }
  const rawId = flag(args, "--app-id");
  const rawBase = flag(args, "--base-url");
  if (!rawId || !rawBase) {
    io.err(USAGE);
    return 2;
  }
  const appId = rawId.startsWith("ari:") ? rawId : `ari:cloud:ecosystem::app/${rawId}`;
  if (!APP_ID.test(appId)) {
    io.err(`--app-id must be the id \`forge register\` gave the app: ari:cloud:ecosystem::app/<uuid> (got "${rawId}")`);
    return 2;
  }
  let base: URL;
  try {
    base = new URL(rawBase);
  } catch {
    io.err(`--base-url is not a URL (got "${rawBase}")`);
    return 2;
  }
  if (base.protocol !== "https:") {
    io.err("--base-url must be https: Forge calls remotes over HTTPS only");
    return 2;
  }
  const outDir = path.resolve(flag(args, "--out") ?? path.join(ROOT, "forge", "build"));
  const template = fs.readFileSync(path.join(ROOT, "forge", "manifest.yml"), "utf8");
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, "manifest.yml"), fillManifest(template, appId, base.toString().replace(/\/+$/, "")));
  fs.writeFileSync(path.join(outDir, "package.json"), JSON.stringify({ name: "pipelines-for-bitbucket-forge-app", version: "1.0.0", private: true, description: "The Forge app of Pipelines for Bitbucket (a remote-only app)" }, null, 2) + "\n");
  const files = buildCustomUi(path.join(outDir, "static", "pages"));
  io.out(`wrote ${path.join(outDir, "manifest.yml")} (app ${appId}, remote ${base.origin}${base.pathname.replace(/\/+$/, "")})`);
  io.out(`wrote the Custom UI to ${path.join(outDir, "static", "pages")}: ${files.join(", ")}`);
  io.out(`next: cd ${outDir} && forge deploy && forge install --product bitbucket`);
  return 0;
}
