import { createHash } from "node:crypto";
import path from "node:path";
import { forkChild, profileOptions, type Message } from "../lib/child";

/** ~200 MB of base64 text (150 000 000 random bytes → 202 631 579 bytes with the newlines every 76 characters). */
export const PRINT_COMMAND = "head -c 150000000 /dev/urandom | base64";

/**
 * - `measured`: prints it into the step's log;
 * - `baseline`: the same command with its output sent to /dev/null (what the step costs without a log);
 * - `pipe-reader`: the same through `cat` to /dev/null — a reference, not a target: what merely adding one more
 *   reader of 200 MB of pipe costs on this machine, whatever the reader does with it.
 */
export const COMMANDS = {
  measured: PRINT_COMMAND,
  baseline: `${PRINT_COMMAND} > /dev/null`,
  "pipe-reader": `${PRINT_COMMAND} | cat > /dev/null`,
} as const;

export type StepRunMode = keyof typeof COMMANDS;

export interface StepRunMessage extends Message {
  type: "result";
  mode: StepRunMode;
  state: string;
  /** runStep and the sink's close, until the last chunk is in sqlite. */
  wallMs: number;
  rssStart: number;
  rssMax: number;
  samples: number;
  /** What the step printed (the `+ command` echo lines and the truncation notice included), stored or not. */
  printedBytes: number;
  storedBytes: number;
  droppedBytes: number;
  truncated: boolean;
  chunkRows: number;
  /** Time spent in the sqlite inserts (the step's output waits for them: back-pressure). */
  insertMs: number;
  /** When the log reached its cap (from the start of runStep); null if it never did. */
  capReachedMs: number | null;
  /** The secret echoed by the step's first command reached the log as `********`, and nowhere in clear. */
  secretMasked: boolean;
}

/**
 * The secret of round `round`: the masker's cost depends on the secret (its variants make one regular expression,
 * whose speed varies with their first characters), so each round uses a different one, the same in every bench run.
 */
export function roundSecret(round: number): string {
  return createHash("sha256").update(`pipelines step-output bench, round ${round}`).digest("base64url").slice(0, 24);
}

/** Runs one step in a fresh runner process (`runner-process.ts`) and returns what it measured. */
export async function runStepInFreshProcess(mode: StepRunMode, round: number): Promise<StepRunMessage> {
  const child = forkChild(path.join(__dirname, "runner-process.ts"), { args: [mode, String(round)], nodeOptions: profileOptions(`step-output-${mode}`) });
  const result = await child.next<StepRunMessage>("result");
  await child.exited;
  return result;
}
