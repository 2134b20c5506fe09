/**
 * `pipelines runner-token create --name <name> | list | revoke --name <name>`
 *
 * Runner tokens let `npm run runner` on another machine claim jobs over the runner API. `create` prints the new
 * token once, alone on stdout (so `TOKEN=$(npm run -s pipelines -- runner-token create --name x)` works; the
 * explanation goes to stderr); only its SHA-256 is stored. `list` shows names and when each was last seen, never a
 * token. `revoke` deletes the runner: its next request is refused.
 * Exit status: 0 done, 1 nothing to revoke, 2 usage mistake.
 */
import { wantsHelp } from "./cli-help";
import { loadConfig } from "../config/load-config";
import { openStorage } from "../db/open-storage";
import { createLogger } from "../log/logger";
import { createRunner, listRunners, revokeRunner, RunnerNameError } from "../runner/runner-tokens";
import type { Io } from "./permissions";

export const USAGE = `usage: pipelines runner-token create --name <name>   make a runner token (printed once)
       pipelines runner-token list                   runners and when each was last seen
       pipelines runner-token revoke --name <name>   delete a runner: its token stops working`;

function nameArg(argv: string[]): string | null {
  const i = argv.indexOf("--name");
  if (i >= 0) return argv[i + 1] ?? null;
  const inline = argv.find((a) => a.startsWith("--name="));
  return inline ? inline.slice("--name=".length) : null;
}

export async function main(argv: string[], io: Io, env: Record<string, string | undefined> = process.env): Promise<number> {
  const [command, ...rest] = argv;
  if (wantsHelp(argv)) {
    io.out(USAGE);
    return 0;
  }
  if (command !== undefined && !["create", "list", "revoke"].includes(command)) {
    io.err(`pipelines runner-token: unknown command "${command}" (the commands are create, list, revoke)`);
    io.err(USAGE);
    return 2;
  }
  const name = nameArg(rest);
  const valid = command === "list" ? rest.length === 0 : (command === "create" || command === "revoke") && Boolean(name);
  if (!valid) {
    if (command === "create" || command === "revoke") io.err(`pipelines runner-token ${command}: give the runner's name with --name <name>`);
    io.err(USAGE);
    return 2;
  }
  const config = loadConfig(env);
  const storage = await openStorage(config, createLogger({ cli: "runner-token" }));
  try {
    const { models } = storage;
    if (command === "create") {
      let created;
      try {
        created = await createRunner(models, name as string);
      } catch (err) {
        if (!(err instanceof RunnerNameError)) throw err;
        io.err(err.message);
        return 2;
      }
      io.err(`Runner "${created.runner.name}" created. Its token is shown this once; store it now (only its hash is kept):`);
      io.out(created.token);
      io.err(`Start the runner with the token in its environment (not on its command line):`);
      io.err(`  PIPELINES_RUNNER_TOKEN=<token> npm run runner -- --server ${config.baseUrl} --name ${created.runner.name}`);
      return 0;
    }
    if (command === "revoke") {
      const n = await revokeRunner(models, name as string);
      if (n === 0) {
        io.err(`no runner named "${name}"`);
        return 1;
      }
      io.out(`runner "${name}" revoked: its token no longer works`);
      return 0;
    }
    const runners = await listRunners(models);
    if (runners.length === 0) {
      io.out("no runners; create one with: pipelines runner-token create --name <name>");
      return 0;
    }
    const rows = runners.map((r) => [r.name, r.createdAt.toISOString(), r.lastSeenAt ? r.lastSeenAt.toISOString() : "never"]);
    const head = ["Name", "Created", "Last seen"];
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
    const fmt = (row: string[]) => row.map((v, c) => v.padEnd(widths[c])).join("  ").trimEnd();
    for (const line of [fmt(head), ...rows.map(fmt)]) io.out(line);
    return 0;
  } finally {
    await storage.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2), { out: (l) => console.log(l), err: (l) => console.error(l) }).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(err.message);
      process.exit(2);
    },
  );
}
