import { main as validate } from "./validate";
import { main as permissions } from "./permissions";
import { main as runnerToken } from "./runner-token";
import { main as runners } from "./runners";
import { main as server } from "./server";
import { main as forgeApp } from "./forge-app";

export const USAGE = `usage: pipelines <command> [options]        (npm run pipelines -- <command> …; <command> --help for its options)

  validate [file] [--branch B | --tag T | --pr SRC:DST | --custom NAME]
                                 check a pipeline file and show what would run
  permissions [--tenant <clientKey>]
                                 the scopes Pipelines needs, and what an installation granted
  runner-token create --name <name> | list | revoke --name <name>
                                 tokens for remote runners (npm run runner -- --help)
  runners                        runners: labels, version, slots, last heartbeat, current jobs
  server add | list | repos | remove | enable | disable | reset-host-key
                                 Bitbucket Server / Data Center connections
  forge manifest --app-id <id> --base-url <https URL>
                                 the Forge app to deploy (forge/build/: manifest, Custom UI)
  help                           this list`;

export const COMMANDS = ["validate", "permissions", "runner-token", "runners", "server", "forge", "help"];

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
    case "runners":
      return runners(rest, { out: (l) => console.log(l), err: (l) => console.error(l) });
    case "server":
      return server(rest, { out: (l) => console.log(l), err: (l) => console.error(l) });
    case "forge":
      return forgeApp(rest, { out: (l) => console.log(l), err: (l) => console.error(l) });
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return 0;
    case undefined:
      console.error(USAGE);
      return 2;
    default:
      console.error(`pipelines: unknown command "${command}" (the commands are ${COMMANDS.join(", ")})`);
      console.error(USAGE);
      return 2;
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
