/** Quotes `text` as one shell word: single quotes, with each `'` written as `'\''`. Safe for any text. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The bash script for a list of commands, the way Bitbucket runs them: each command is echoed as `+ <command>`
 * (with printf and a single-quoted argument, so nothing in it is expanded) and then run as written. It is run
 * with `bash -e`, so the first failing command ends the script with its exit code.
 *
 * `exec 2>&1` first: stderr goes into the stdout pipe, so the two interleave exactly as the commands wrote them.
 */
export function buildStepScript(commands: readonly string[]): string {
  const lines = ["exec 2>&1"];
  for (const raw of commands) {
    const command = raw.endsWith("\n") ? raw.slice(0, -1) : raw;
    lines.push(`printf '+ %s\\n' ${shellQuote(command)}`);
    lines.push(command);
  }
  return lines.join("\n") + "\n";
}
