import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { parseArgs } from "node:util";
import { startBitbucketCloud, type BitbucketCloud, type RecordedCall, type WebhookDelivery } from "./cloud";

/**
 * `npm run dev:bitbucket -- --app http://localhost:3000 [--workspace acme] [--repo demo] [--site-port 7990]
 * [--api-port 7991] [--oauth]`: starts the Bitbucket Cloud stand-in, creates a demo repository with a small
 * bitbucket-pipelines.yml, installs it into the app, prints the repository page to open (and to click Create
 * application there), and reads commands from stdin (`push --file bitbucket-pipelines.yml`, tag, pr, …). With
 * `--oauth` it also plays the OAuth consumer and a signed-in user, so the app's /app pages work locally.
 * Never prints a Connect shared secret or an access token.
 */

const PIPELINE = `image: atlassian/default-image:4

pipelines:
  default:
    - step:
        name: Build and test
        script:
          - echo "Hello from the Bitbucket stand-in"
          - cat README.md
  branches:
    main:
      - step:
          name: Main only
          script:
            - echo "on main"
  tags:
    "v*":
      - step:
          name: Release
          script:
            - echo "releasing $BITBUCKET_TAG"
`;

const HELP = `Commands:
  push [branch] [--file PATH]...
                           commit on the branch (default: main) and send repo:push; with --file, your own file or
                           folder (e.g. --file bitbucket-pipelines.yml, --file src), else a change to CHANGES.md
  tag <name>               commit on main with a tag and send repo:push with both changes
  pr <branch> [id]         send pullrequest:created for <branch> → main (the branch must exist)
  delete <branch>          delete a branch and send repo:push (closed)
  fail <500|429|hang> [re] make the next API call (matching the regex) fail
  install | uninstall      send the lifecycle again (a re-install rotates the secret)
  calls [n]                the last n API/site calls (method, path, status, auth)
  statuses                 the latest build statuses of the demo repository
  help | quit`;

function usage(message?: string): never {
  if (message) console.error(message);
  console.error("usage: npm run dev:bitbucket -- --app <app base URL> [--workspace acme] [--repo demo] [--site-port N] [--api-port N] [--oauth] [--quiet]");
  process.exit(2);
}

function port(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) usage(`--${name} must be a port number`);
  return n;
}

/** Files a push carries at most (a folder larger than that is refused: the stand-in keeps repositories small). */
const MAX_PUSH_FILES = 500;
const MAX_PUSH_BYTES = 10 * 1024 * 1024;

/** Your own files for a push: a file (at the repository's root, by its name) or a folder (its files, by their paths in it). */
export function filesFrom(target: string): Record<string, string> {
  const full = path.resolve(target);
  const stat = fs.statSync(full);
  if (stat.isFile()) return { [path.basename(full)]: fs.readFileSync(full, "utf8") };
  const out: Record<string, string> = {};
  let bytes = 0;
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name === ".git" || e.name === "node_modules") continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        bytes += fs.statSync(p).size;
        if (Object.keys(out).length >= MAX_PUSH_FILES || bytes > MAX_PUSH_BYTES) throw new Error(`${target} has more than ${MAX_PUSH_FILES} files or ${MAX_PUSH_BYTES / 1024 / 1024} MiB: push a smaller folder`);
        out[path.relative(full, p).split(path.sep).join("/")] = fs.readFileSync(p, "utf8");
      }
    }
  };
  walk(full);
  if (Object.keys(out).length === 0) throw new Error(`${target} has no files`);
  return out;
}

/** `push [branch] [--file PATH]...` */
function pushArgs(args: string[]): { branch: string; files: Record<string, string> | null } {
  let branch = "main";
  let files: Record<string, string> | null = null;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--file") {
      const target = args[++i];
      if (!target) throw new Error("push --file needs a file or folder, e.g. push --file bitbucket-pipelines.yml");
      let found: Record<string, string>;
      try {
        found = filesFrom(target);
      } catch (err) {
        throw new Error(`cannot read ${target}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or folder" : (err as Error).message}`, { cause: err });
      }
      files = { ...(files ?? {}), ...found };
    } else if (args[i].startsWith("-")) {
      throw new Error(`push: unknown option ${args[i]} (push [branch] [--file PATH]...)`);
    } else branch = args[i];
  }
  return { branch, files };
}

function describeDelivery(d: WebhookDelivery): string {
  const attempts = d.attempts.map((a) => (a.error ? `error (${a.error})` : String(a.status))).join(", ");
  return `${d.event} → ${d.url}: ${attempts} [X-Request-UUID ${d.requestUuid}]`;
}

function describeCall(c: RecordedCall): string {
  const q = c.query ? `?${c.query}` : "";
  return `${c.at.toISOString().slice(11, 23)} ${c.server.padEnd(4)} ${c.method.padEnd(6)} ${c.path}${q} → ${c.status || "(no answer)"} ${c.auth ?? "anonymous"}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      app: { type: "string" },
      workspace: { type: "string", default: "acme" },
      repo: { type: "string", default: "demo" },
      "site-port": { type: "string" },
      "api-port": { type: "string" },
      quiet: { type: "boolean", default: false },
      oauth: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) usage();
  const appUrl = values.app?.replace(/\/+$/, "");
  if (!appUrl) usage("--app is required");
  const workspace = values.workspace ?? "acme";
  const repo = values.repo ?? "demo";

  const cloud: BitbucketCloud = await startBitbucketCloud({ sitePort: port(values["site-port"], "site-port"), apiPort: port(values["api-port"], "api-port") });
  let stopping = false;
  const stop = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      await cloud.stop();
    }
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  await cloud.createRepository(workspace, repo);
  const initial = await cloud.commit(workspace, repo, {
    files: { "bitbucket-pipelines.yml": PIPELINE, "README.md": `# ${repo}\n\nA demo repository of the Bitbucket stand-in.\n` },
    message: "Add bitbucket-pipelines.yml",
  });

  console.log(`Bitbucket Cloud stand-in
  site (baseUrl)     ${cloud.siteUrl}
  API (baseApiUrl)   ${cloud.apiUrl}
  repository         ${workspace}/${repo}  (main at ${initial.shortHash})
  clone over HTTPS   ${cloud.cloneUrl(workspace, repo)}  (needs an access token from the JWT grant)
`);

  let clientKey: string | null = null;
  const install = async (): Promise<void> => {
    try {
      const res = await cloud.install(appUrl, { workspace });
      clientKey = res.clientKey;
      const ok = res.status >= 200 && res.status < 300;
      console.log(`install into ${appUrl}: ${res.status}${ok ? "" : ` ${res.body.slice(0, 300)}`}`);
      console.log(`  clientKey        ${res.clientKey}`);
      console.log(`  workspace        ${workspace} ${cloud.workspaceUuid(workspace)}`);
      if (!ok) console.log("  (the app refused it: is 127.0.0.1 in the app's host whitelist? is an older install of this clientKey stored?)");
    } catch (err) {
      console.log(`install into ${appUrl} failed: ${(err as Error).message}`);
    }
  };
  await install();
  console.log(`
Open the repository page: ${cloud.siteUrl}/${workspace}/${repo}
  and click "Create application" in its Pipelines panel; then push from here (push --file bitbucket-pipelines.yml).`);

  if (values.oauth) {
    // The OAuth consumer the app's /oauth uses, and a user who belongs to the workspace and is signed in here.
    const key = process.env.PIPELINES_OAUTH_KEY || "standin-consumer";
    const given = process.env.PIPELINES_OAUTH_SECRET;
    const secret = given || randomBytes(18).toString("base64url");
    cloud.oauth.addConsumer(key, secret, `${appUrl}/oauth/callback`);
    cloud.oauth.addUser("developer", [workspace]);
    cloud.oauth.loginAs("developer");
    console.log(`
OAuth consumer "${key}" and the signed-in user "developer" (a member of ${workspace}).
${given ? "  The app must run with the same PIPELINES_OAUTH_KEY and PIPELINES_OAUTH_SECRET as this stand-in, and" : `  Start the app with this stand-in's throwaway consumer (a secret of this stand-in only):
    PIPELINES_OAUTH_KEY=${key} PIPELINES_OAUTH_SECRET=${secret} \\`}
    PIPELINES_BITBUCKET_URL=${cloud.siteUrl} PIPELINES_BITBUCKET_API_URL=${cloud.apiUrl} npm start
  then open ${appUrl}/oauth and click Connect Bitbucket: you land on ${appUrl}/app.`);
  }

  let printed = 0;
  if (!values.quiet) {
    setInterval(() => {
      while (printed < cloud.calls.length && cloud.calls[printed].status !== 0) console.log(`  ← ${describeCall(cloud.calls[printed++])}`);
    }, 250).unref();
  }

  let changes = 0;
  const need = (): string => {
    if (!clientKey) throw new Error("not installed (use `install`)");
    return clientKey;
  };
  const commands: Record<string, (args: string[]) => Promise<void>> = {
    async push(args) {
      const { branch, files } = pushArgs(args);
      changes++;
      const { commit, delivery } = await cloud.pushAndNotify(appUrl, need(), workspace, repo, {
        branch,
        files: files ?? { "CHANGES.md": `change ${changes} at ${new Date().toISOString()}\n` },
        message: files ? `Add ${Object.keys(files).slice(0, 3).join(", ")}${Object.keys(files).length > 3 ? ` and ${Object.keys(files).length - 3} more` : ""}` : `Change ${changes} on ${branch}`,
      });
      console.log(`pushed ${commit.shortHash} to ${branch} (was ${commit.previous?.slice(0, 12) ?? "new branch"})${files ? `: ${Object.keys(files).length} file${Object.keys(files).length === 1 ? "" : "s"} of yours` : ""}`);
      console.log(`  ${describeDelivery(delivery)}`);
    },
    async tag([name]) {
      if (!name) throw new Error("tag <name>");
      changes++;
      const { commit, delivery } = await cloud.pushAndNotify(appUrl, need(), workspace, repo, { files: { "CHANGES.md": `release ${name}\n` }, message: `Release ${name}`, tag: name });
      console.log(`pushed ${commit.shortHash} to main with tag ${name}`);
      console.log(`  ${describeDelivery(delivery)}`);
    },
    async pr([branch, id]) {
      if (!branch) throw new Error("pr <branch> [id]");
      const source = await cloud.resolveCommit(workspace, repo, `refs/heads/${branch}`);
      const destination = await cloud.resolveCommit(workspace, repo, "refs/heads/main");
      if (!source || !destination) throw new Error(`no branch ${branch} (push ${branch} first)`);
      const prId = Number(id ?? changes + 1);
      const spec = { id: prId, title: `Merge ${branch}`, source: { branch, commit: source }, destination: { branch: "main", commit: destination } };
      console.log(`  ${describeDelivery(await cloud.sendPullRequest(appUrl, need(), workspace, repo, spec, "pullrequest:created"))}`);
    },
    async delete([branch]) {
      if (!branch || branch === "main") throw new Error("delete <branch other than main>");
      console.log(`  ${describeDelivery(await cloud.deleteBranchAndNotify(appUrl, need(), workspace, repo, branch))}`);
    },
    async fail([mode, pattern]) {
      const pathMatch = pattern ? new RegExp(pattern) : undefined;
      if (mode === "500") cloud.failNext({ server: "api", pathMatch, mode: { status: 500 } });
      else if (mode === "429") cloud.failNext({ server: "api", pathMatch, mode: { status: 429, retryAfterSeconds: 5 } });
      else if (mode === "hang") cloud.failNext({ server: "api", pathMatch, mode: "hang" });
      else throw new Error("fail <500|429|hang> [regex]");
      console.log(`the next API call${pattern ? ` matching /${pattern}/` : ""} fails with ${mode}`);
    },
    install,
    async uninstall() {
      const res = await cloud.uninstall(appUrl, need());
      console.log(`uninstall: ${res.status} (tokens of ${res.clientKey} revoked)`);
    },
    async calls([n = "20"]) {
      if (cloud.calls.length === 0) console.log("  (the app has made no calls yet)");
      for (const c of cloud.calls.slice(-Number(n))) console.log(`  ${describeCall(c)}`);
    },
    async statuses() {
      const all = cloud.statuses(workspace, repo);
      if (all.length === 0) console.log("  (no build statuses yet)");
      for (const s of all) console.log(`  ${s.commit.slice(0, 12)} ${s.key} ${s.state} ${s.name ?? ""} ${s.url}`);
    },
    async help() {
      console.log(HELP);
    },
    async quit() {
      await stop(0);
    },
  };

  console.log(`\n${HELP}\n`);
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, prompt: "bitbucket> " });
  rl.prompt();
  let queue = Promise.resolve();
  rl.on("line", (line) => {
    queue = queue.then(async () => {
      const [name, ...args] = line.trim().split(/\s+/).filter(Boolean);
      if (name) {
        const command = commands[name === "exit" ? "quit" : name];
        if (!command) console.log(`unknown command "${name}" (try help)`);
        else {
          try {
            await command(args);
          } catch (err) {
            console.log(`error: ${(err as Error).message}`);
          }
        }
      }
      rl.prompt();
    });
  });
  rl.on("close", () => {
    void queue.then(() => stop(0));
  });
}

main().catch((err: unknown) => {
  console.error((err as Error).stack ?? String(err));
  process.exit(1);
});
