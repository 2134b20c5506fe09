import { spawn } from "node:child_process";
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { TOOL_PATH } from "./sandbox/run-tool";

/**
 * tar's options for packing a step's files: links are stored as links (tar never follows one without -h), owners
 * are not recorded, and a listed name is a name, never an option or a pattern. With `files`, their paths come
 * NUL-separated on stdin; without, the whole directory.
 */
export function packScript(withFiles: boolean): string {
  const common = "--numeric-owner --owner=0 --group=0 -czf -";
  return withFiles
    ? `cd -- "$1" && tar --null --verbatim-files-from --no-recursion -T - ${common}`
    : `cd -- "$1" && tar ${common} .`;
}

/**
 * Unpacking into a step's directory: as the step's user (the caller's jail), so no entry — a `..` name, an absolute
 * path, a link followed by a file "through" it — can write where the step itself could not. GNU tar also refuses
 * `..` members and strips leading `/`. Owners are not restored.
 */
export const UNPACK_SCRIPT = 'mkdir -p -- "$1" && tar -xzf - -C "$1" --no-same-owner';

/**
 * Runs `command` with `input` (or nothing) on stdin and gives its stdout as a stream, which fails (instead of
 * ending) when the command exits with an error: a half-packed artifact is never taken for a whole one. Destroying
 * the stream kills the command.
 */
export function streamOut(command: string, args: readonly string[], input?: string): Readable {
  const child = spawn(command, args, { stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"], env: { PATH: TOOL_PATH, LC_ALL: "C" } });
  const out = new PassThrough();
  let stderr = "";
  child.stderr?.on("data", (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  child.stdout?.pipe(out, { end: false });
  child.once("error", (err) => out.destroy(err));
  child.once("close", (code) => {
    if (code === 0) out.end();
    else out.destroy(new Error(stderr.trim() || `${command} failed (exit code ${code})`));
  });
  out.once("close", () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  if (input !== undefined) child.stdin?.end(input);
  return out;
}

/** Runs `command` with `body` on stdin until it exits; rejects with its stderr when it fails. */
export async function streamIn(command: string, args: readonly string[], body: Readable): Promise<void> {
  const child = spawn(command, args, { stdio: ["pipe", "ignore", "pipe"], env: { PATH: TOOL_PATH, LC_ALL: "C" } });
  let stderr = "";
  child.stderr?.on("data", (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve(code));
  });
  let piped: unknown = null;
  if (child.stdin) await pipeline(body, child.stdin).catch((err: unknown) => (piped = err));
  const code = await exited;
  if (code !== 0) throw new Error(stderr.trim() || `${command} failed (exit code ${code})`);
  if (piped) throw piped as Error;
}
