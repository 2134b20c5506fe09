import { AnsiRenderer, logLineHtml } from "./ansi-html";

/** A piece of a step's log: its bytes, its byte offset in the log, and when it reached the server (ms; null: unknown). */
export interface TimedPiece {
  data: Buffer;
  start: number;
  at: number | null;
}

const RUNNER_LINE = "[pipelines] ";
/** The runner's set-up lines at the top of each step's log: how the step is isolated, with which limits. */
const SETUP = /^\[pipelines\] (executor|limits): /;
/** What the runner's executor does not honour (`image "node:20" is ignored: this runner's executor is "sandbox"…`). */
const IGNORED = /^\[pipelines\] warning: (.+ (?:is|are) ignored: this runner's executor is .*)$/;

/** What the runner said at the top of a step's log that the build's page shows once, in its header. */
export interface RunnerNotes {
  /** `executor: …` and `limits: …`, without the `[pipelines] ` prefix. */
  setup: string[];
  /** What the executor ignores (an image, services), without the prefix. */
  ignored: string[];
}

/** Reads the runner's block of lines at the top of a log (`[pipelines] …`, up to the step's own first line). */
export function runnerNotes(text: string): RunnerNotes {
  const notes: RunnerNotes = { setup: [], ignored: [] };
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (!line.startsWith(RUNNER_LINE)) break;
    const ignored = IGNORED.exec(line);
    if (ignored) notes.ignored.push(`warning: ${ignored[1]}`);
    else if (SETUP.test(line)) notes.setup.push(line.slice(RUNNER_LINE.length));
  }
  return notes;
}

/**
 * Turns whole lines of a step's log into the page's HTML: colours as classes (AnsiRenderer), each line with the time
 * its first byte reached the server (`data-t`, ms, for the page's timestamps), and without the runner's set-up lines
 * and "… is ignored" warnings at the top of the log, which the build's header shows once for all its steps (the
 * downloaded log keeps every line).
 */
export class LogLines {
  private readonly ansi = new AnsiRenderer();
  private marks: { start: number; at: number | null }[] = [];
  /** Still in the runner's block at the top of the log (only a log read from its start can know). */
  private top: boolean;

  constructor(from: number) {
    this.top = from === 0;
  }

  /** Notes when the bytes of a piece arrived. */
  mark(piece: TimedPiece): void {
    this.marks.push({ start: piece.start, at: piece.at });
    if (this.marks.length > 64) this.marks = this.marks.slice(-32);
  }

  private timeAt(offset: number): number | null {
    for (let i = this.marks.length - 1; i >= 0; i--) if (this.marks[i].start <= offset) return this.marks[i].at;
    return null;
  }

  /** HTML for `bytes` (whole lines, the last newline optional) that start at byte `start` of the log. */
  render(bytes: Buffer, start: number): string {
    if (bytes.length === 0) return "";
    const text = bytes.toString("utf8");
    const lines = (text.endsWith("\n") ? text.slice(0, -1) : text).split("\n");
    let offset = start;
    let html = "";
    for (const line of lines) {
      const at = this.timeAt(offset);
      offset += Buffer.byteLength(line) + 1;
      const inner = this.ansi.line(line);
      if (this.top) {
        const plain = line.replace(/\r$/, "");
        if (!plain.startsWith(RUNNER_LINE)) this.top = false;
        else if (SETUP.test(plain) || IGNORED.test(plain)) continue;
      }
      html += logLineHtml(inner, at);
    }
    return html;
  }
}
