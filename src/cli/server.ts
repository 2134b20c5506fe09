/**
 * `pipelines server add --host <url> --username <name> [--ssh-port 22] [--token] [--http-clone]`
 * `pipelines server list | remove --id <tenant> | enable --id <tenant> --repository KEY/slug | disable … |
 *  reset-host-key --id <tenant>`
 *
 * Bitbucket Server / Data Center connections. The password (or, with --token, a personal access token) is read
 * from a prompt without echo, or from stdin when it is not a terminal — never from the command line. `add` checks
 * the credentials against the server first and says clearly why they do not work. Whoever runs this has the
 * database and the secret key, i.e. is an operator of this Pipelines: the administrator of every connection.
 * Exit status: 0 done, 1 refused (bad credentials, unknown connection), 2 usage mistake.
 */
import { wantsHelp } from "./cli-help";
import { loadConfig } from "../config/load-config";
import { openStorage } from "../db/open-storage";
import { createLogger } from "../log/logger";
import { ServerCredentialsError } from "../forges/server/check-credentials";
import { addServerConnection, connectionInfo, credentialsOf, removeServerConnection, validPort } from "../forges/server/server-connections";
import { listServerRepositories } from "../forges/server/server-repositories";
import { addKeyToServerUser } from "../forges/server/server-ssh-key";
import { disableServerAutoBuild, enableServerAutoBuild } from "../forges/server/server-webhooks";
import { pinnedKnownHosts, resetHostKey } from "../forges/server/pin-host-key";
import { tenantSshKey } from "../tenants/ssh-key-store";
import type { Io } from "./permissions";

export const USAGE = `usage: pipelines server add --host <https://…> --username <name> [--ssh-port 22] [--token] [--http-clone]
                                      (password or token from the prompt, or stdin; never an argument)
       pipelines server list
       pipelines server repos --id <id>                          the repositories the connection's user can see
       pipelines server remove --id <id>                         delete its webhooks and credentials
       pipelines server enable --id <id> --repository KEY/slug   auto-build: creates the repository's webhook
       pipelines server disable --id <id> --repository KEY/slug  deletes the webhook
       pipelines server reset-host-key --id <id>                 forget the pinned SSH host key`;

function arg(argv: string[], name: string): string | null {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0) return argv[i + 1] ?? null;
  const inline = argv.find((a) => a.startsWith(`--${name}=`));
  return inline ? inline.slice(name.length + 3) : null;
}

/** The secret: from stdin when it is not a terminal (first line), else from a prompt that does not echo. */
export async function readSecret(prompt: string, stdin: NodeJS.ReadStream = process.stdin, stderr: NodeJS.WriteStream = process.stderr): Promise<string> {
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0];
  }
  stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = "";
    const onData = (b: Buffer) => {
      for (const ch of b.toString("utf8")) {
        if (ch === "\r" || ch === "\n") {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off("data", onData);
          stderr.write("\n");
          resolve(value);
          return;
        }
        if (ch === "\u0003") {
          stdin.setRawMode(false);
          reject(new Error("cancelled"));
          return;
        }
        value = ch === "\u007f" ? value.slice(0, -1) : value + ch;
      }
    };
    stdin.on("data", onData);
  });
}

export async function main(argv: string[], io: Io, env: Record<string, string | undefined> = process.env, secret: () => Promise<string> = () => readSecret(argv.includes("--token") ? "Access token: " : "Password: ")): Promise<number> {
  const [command, ...rest] = argv;
  if (wantsHelp(argv)) {
    io.out(USAGE);
    return 0;
  }
  const commands = ["add", "list", "repos", "remove", "enable", "disable", "reset-host-key"];
  if (command !== undefined && !commands.includes(command)) {
    io.err(`pipelines server: unknown command "${command}" (the commands are ${commands.join(", ")})`);
    io.err(USAGE);
    return 2;
  }
  const id = Number(arg(rest, "id"));
  const repository = arg(rest, "repository");
  const needsId = ["remove", "enable", "disable", "reset-host-key", "repos"].includes(command);
  const valid =
    (command === "add" && Boolean(arg(rest, "host")) && Boolean(arg(rest, "username"))) ||
    command === "list" ||
    (needsId && Number.isInteger(id) && id > 0 && (command === "enable" || command === "disable" ? /^[^/\s]+\/[^/\s]+$/.test(repository ?? "") : true));
  if (!valid) {
    if (command !== undefined) io.err(`pipelines server ${command}: ${command === "add" ? "give --host and --username" : command === "enable" || command === "disable" ? "give --id <id> and --repository KEY/slug" : "give --id <id> (see pipelines server list)"}`);
    io.err(USAGE);
    return 2;
  }
  const config = loadConfig(env);
  const storage = await openStorage(config, createLogger({ cli: "server" }));
  try {
    const { models } = storage;
    if (command === "add") {
      let sshPort: number;
      try {
        sshPort = validPort(arg(rest, "ssh-port") ?? 22);
      } catch (err) {
        io.err((err as Error).message);
        return 2;
      }
      const password = await secret();
      try {
        const added = await addServerConnection(models, {
          host: arg(rest, "host") as string,
          username: arg(rest, "username") as string,
          secret: password,
          authKind: rest.includes("--token") ? "token" : "password",
          sshPort,
          cloneProtocol: rest.includes("--http-clone") ? "http" : "ssh",
        });
        io.out(`connection ${added.tenant.id}: ${added.connection.host} (Bitbucket ${added.version}) as ${added.displayName}`);
        const key = await tenantSshKey(models, added.tenant);
        const addedKey = await addKeyToServerUser(credentialsOf(added.connection), key.publicKey, "Pipelines for Bitbucket");
        if (addedKey.added) io.out(`SSH key for cloning added to ${added.connection.username}'s SSH keys on the server: ${key.publicKey}`);
        else io.out(`SSH key for cloning (${addedKey.reason}; add it to ${added.connection.username}'s SSH keys on the server): ${key.publicKey}`);
        if (added.connection.cloneProtocol === "ssh") {
          try {
            await pinnedKnownHosts(added.connection);
            io.out(`SSH host key pinned: ${added.connection.hostKeyFingerprint} (port ${added.connection.sshPort}); compare it with the server's`);
          } catch (err) {
            io.err(`the SSH host key could not be read yet (${(err as Error).message}); it is pinned on the first clone`);
          }
        }
        return 0;
      } catch (err) {
        if (err instanceof ServerCredentialsError || err instanceof Error) {
          io.err(`credentials not added: ${err.message}`);
          return 1;
        }
        throw err;
      }
    }
    if (command === "list") {
      const connections = await models.ServerConnection.findAll({ order: [["id", "ASC"]] });
      if (connections.length === 0) {
        io.out("No Bitbucket Server connections yet: add one with pipelines server add --host <https://…> --username <name>");
        return 0;
      }
      for (const conn of connections) {
        const i = connectionInfo(conn);
        io.out(`${i.tenantId}\t${i.host}\t${i.username}\t${i.authKind} ${i.secret}\tssh port ${i.sshPort}\t${i.cloneProtocol}\t${i.hostKeyFingerprint ?? "host key not pinned yet"}`);
      }
      return 0;
    }
    const tenant = await models.Tenant.findOne({ where: { id, kind: "server", status: "active" } });
    const conn = tenant && (await models.ServerConnection.findOne({ where: { tenantId: tenant.id } }));
    if (!tenant || !conn) {
      io.err(`no Bitbucket Server connection ${id}`);
      return 1;
    }
    try {
      if (command === "remove") {
        const { webhookErrors } = await removeServerConnection(models, tenant);
        for (const e of webhookErrors) io.err(`warning: ${e}`);
        io.out(`connection ${id} removed`);
      } else if (command === "repos") {
        const { repositories, truncated } = await listServerRepositories(credentialsOf(conn));
        for (const r of repositories) io.out(`${r.fullName}\t${r.name}${r.projectName ? `\t${r.projectName}` : ""}`);
        if (truncated) io.err(`only the first ${repositories.length} repositories are listed`);
      } else if (command === "enable") {
        await enableServerAutoBuild(models, tenant, repository as string, config.baseUrl);
        io.out(`auto-builds enabled for ${repository}: webhook created`);
      } else if (command === "disable") {
        await disableServerAutoBuild(models, tenant, repository as string);
        io.out(`auto-builds disabled for ${repository}: webhook deleted`);
      } else {
        await resetHostKey(conn);
        io.out(`the pinned SSH host key of ${conn.host} was forgotten; the next clone pins the key it sees`);
      }
    } catch (err) {
      io.err((err as Error).message);
      return 1;
    }
    return 0;
  } finally {
    await storage.close();
  }
}
