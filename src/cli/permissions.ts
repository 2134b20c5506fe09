import { wantsHelp } from "./cli-help";
import { PIPELINES_SCOPES, SCOPES } from "../scopes/catalogue";
import { checkGrantedScopes } from "../scopes/check-granted-scopes";
import { loadConfig } from "../config/load-config";
import { openStorage } from "../db/open-storage";
import { createLogger } from "../log/logger";

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

/** The table of the scopes Pipelines asks for: area, access, scope, what the user approves, why. */
export function permissionsTable(): string[] {
  const rows = PIPELINES_SCOPES.map((s) => SCOPES.find((i) => i.scope === s)!).map((i) => [i.area, i.access, i.scope, i.approval, i.why ?? ""]);
  const head = ["Area", "Access", "Scope", "What the user approves", "Why Pipelines needs it"];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const fmt = (r: string[]) => r.map((v, c) => v.padEnd(widths[c])).join("  ").trimEnd();
  return [fmt(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(fmt)];
}

/**
 * Calls the tenant's API once, as the app, and reads the scopes Bitbucket granted from `X-OAuth-Scopes` (the check
 * the configure page shows too). Returns the process exit status: 0 when everything required is granted, 1 when
 * something is missing or refused, 2 when the tenant cannot be checked.
 */
export async function checkTenant(clientKey: string, io: Io, env = process.env): Promise<number> {
  const config = loadConfig(env);
  const log = createLogger({ cli: "permissions" });
  const storage = await openStorage(config, log);
  try {
    const tenant = await storage.models.Tenant.findOne({ where: { clientKey } });
    if (!tenant) {
      io.err(`no installation with clientKey ${clientKey}`);
      return 2;
    }
    if (tenant.status !== "active") {
      io.err(`${clientKey} has uninstalled Pipelines: nothing is granted`);
      return 1;
    }
    const check = await checkGrantedScopes(tenant);
    if (check.outcome === "not-connect" || check.outcome === "unreachable") {
      io.err(check.message);
      return 2;
    }
    if (check.outcome !== "checked") {
      io.err(check.message);
      return 1;
    }
    const { granted, missing } = check;
    io.out(`granted to ${clientKey}: ${granted.join(" ") || "(nothing)"}`);
    if (missing.length === 0) {
      io.out("every scope Pipelines needs is granted");
      return 0;
    }
    for (const m of missing) io.out(`MISSING ${m.scope}: ${m.feature}`);
    return 1;
  } finally {
    await storage.close();
  }
}

export const USAGE = `usage: pipelines permissions [--tenant <clientKey>]
  Prints the scopes Pipelines asks Bitbucket for and why; with --tenant, also what Bitbucket granted that
  installation (asked of Bitbucket; exit 1 when a required scope is missing).`;

export async function main(argv: string[], io: Io): Promise<number> {
  if (wantsHelp(argv)) {
    io.out(USAGE);
    return 0;
  }
  const unknown = argv.find((a, i) => a.startsWith("-") && a !== "--tenant" && argv[i - 1] !== "--tenant");
  if (unknown) {
    io.err(`pipelines permissions: unknown option ${unknown}`);
    io.err(USAGE);
    return 2;
  }
  for (const line of permissionsTable()) io.out(line);
  const i = argv.indexOf("--tenant");
  if (i < 0) return 0;
  const clientKey = argv[i + 1];
  if (!clientKey) {
    io.err(USAGE);
    return 2;
  }
  io.out("");
  return checkTenant(clientKey, io);
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
