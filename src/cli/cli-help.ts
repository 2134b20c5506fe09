/** Whether a command line asks for help: `--help`, `-h`, or `help` as its first word. Help is never a mistake (exit 0). */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv[0] === "help" || argv.some((a) => a === "--help" || a === "-h");
}
