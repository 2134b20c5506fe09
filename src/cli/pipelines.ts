import { main as validate } from "./validate";
import { main as permissions } from "./permissions";
import { main as runnerToken } from "./runner-token";
import { main as server } from "./server";
import { main as forgeApp } from "./forge-app";

const USAGE = `usage: pipelines <command>
  validate [file] [--branch B | --tag T | --pr SRC:DST | --custom NAME]   check a pipeline file and show what would run
  permissions [--tenant <clientKey>]                                     the scopes Pipelines needs; what an installation granted
  runner-token create --name <name> | list | revoke --name <name>         tokens for remote runners (npm run runner)
  server add --host <url> --username <name> [--ssh-port N] | list | remove | enable | disable | reset-host-key
                                                                         Bitbucket Server / Data Center connections
  forge manifest --app-id <id> --base-url <https URL>                      the Forge app to deploy (forge/build/: manifest, Custom UI)`;

/** The `pipelines` command: one entry point for the project's command-line tools. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "validate":
      return validate(rest);
    case "permissions":
      return permissions(rest, { out: (l) => console.log(l), err: (l) => console.error(l) });
    case "runner-token":
      return runnerToken(rest, { out: (l) => console.log(l), err: (l) => console.error(l) });
    case "server":
      return server(rest, { out: (l) => console.log(l), err: (l) => console.error(l) });
    case "forge":
      return forgeApp(rest, { out: (l) => console.log(l), err: (l) => console.error(l) });
    default:
      console.error(USAGE);
      return command === undefined || command === "help" || command === "--help" ? 0 : 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: Error) => {
      console.error(err.message);
      process.exitCode = 2;
    },
  );
}
