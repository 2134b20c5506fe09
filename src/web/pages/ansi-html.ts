/**
 * Terminal output → HTML for the live log: SGR codes (`ESC [ … m`: colours, bold, dim, italic, underline, inverse)
 * become `<span class="ansi-…">`, every other escape sequence (cursor moves, erase line, titles) is dropped, and all
 * text is HTML-escaped, so a log can never add markup or script to the page. Styling is by class only (the page's
 * CSP allows no inline styles): 256-colour and true-colour codes map to the nearest of the 16 basic colours.
 */

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

interface Sgr {
  fg: number | null;
  bg: number | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
  inverse: boolean;
}

const PLAIN: Sgr = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, inverse: false };

/** The basic colour (0–15) nearest to xterm colour `n` of the 256-colour palette. */
function nearestBasic(n: number): number {
  if (n < 16) return n;
  if (n >= 232) return n < 244 ? (n < 238 ? 0 : 8) : n < 250 ? 7 : 15;
  const c = n - 16;
  return nearestRgb([Math.floor(c / 36), Math.floor(c / 6) % 6, c % 6].map((v) => (v === 0 ? 0 : 55 + v * 40)) as [number, number, number]);
}

const BASIC_RGB: [number, number, number][] = [
  [0, 0, 0], [205, 0, 0], [0, 205, 0], [205, 205, 0], [0, 0, 238], [205, 0, 205], [0, 205, 205], [229, 229, 229],
  [127, 127, 127], [255, 0, 0], [0, 255, 0], [255, 255, 0], [92, 92, 255], [255, 0, 255], [0, 255, 255], [255, 255, 255],
];

function nearestRgb([r, g, b]: [number, number, number]): number {
  let best = 0;
  let bestDistance = Infinity;
  BASIC_RGB.forEach(([br, bg, bb], i) => {
    const d = (r - br) ** 2 + (g - bg) ** 2 + (b - bb) ** 2;
    if (d < bestDistance) [best, bestDistance] = [i, d];
  });
  return best;
}

/** Applies the parameters of one SGR sequence to `s`. */
function applySgr(s: Sgr, params: number[]): void {
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p === 0) Object.assign(s, PLAIN);
    else if (p === 1) s.bold = true;
    else if (p === 2) s.dim = true;
    else if (p === 3) s.italic = true;
    else if (p === 4) s.underline = true;
    else if (p === 7) s.inverse = true;
    else if (p === 22) s.bold = s.dim = false;
    else if (p === 23) s.italic = false;
    else if (p === 24) s.underline = false;
    else if (p === 27) s.inverse = false;
    else if (p >= 30 && p <= 37) s.fg = p - 30;
    else if (p === 39) s.fg = null;
    else if (p >= 40 && p <= 47) s.bg = p - 40;
    else if (p === 49) s.bg = null;
    else if (p >= 90 && p <= 97) s.fg = p - 90 + 8;
    else if (p >= 100 && p <= 107) s.bg = p - 100 + 8;
    else if (p === 38 || p === 48) {
      let colour: number;
      if (params[i + 1] === 5 && i + 2 < params.length) {
        colour = nearestBasic(Math.min(255, params[i + 2]));
        i += 2;
      } else if (params[i + 1] === 2 && i + 4 < params.length) {
        colour = nearestRgb([params[i + 2], params[i + 3], params[i + 4]].map((v) => Math.min(255, v)) as [number, number, number]);
        i += 4;
      } else {
        break;
      }
      if (p === 38) s.fg = colour;
      else s.bg = colour;
    }
  }
}

function classesOf(s: Sgr): string {
  const fg = s.inverse ? (s.bg ?? 15) : s.fg;
  const bg = s.inverse ? (s.fg ?? 0) : s.bg;
  const out: string[] = [];
  if (fg !== null) out.push(`ansi-fg-${fg}`);
  if (bg !== null) out.push(`ansi-bg-${bg}`);
  if (s.bold) out.push("ansi-bold");
  if (s.dim) out.push("ansi-dim");
  if (s.italic) out.push("ansi-italic");
  if (s.underline) out.push("ansi-underline");
  return out.join(" ");
}

/**
 * CSI (`ESC [ params final`), OSC (`ESC ] … BEL|ST`, to the end of the line when unterminated), any other escape
 * (`ESC intermediates final`), a lone ESC, and control characters other than tab.
 */
// eslint-disable-next-line no-control-regex
const ESCAPE = /\x1b(?:\[([0-?]*)[ -/]*([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[ -/]*[0-~]|)|[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]/g;

/**
 * Renders lines of terminal output, keeping the colour state from one line to the next (as a terminal does), for
 * one stream of a log.
 */
export class AnsiRenderer {
  private state: Sgr = { ...PLAIN };

  /** HTML for one line (without its newline): spans for colours, and only what follows the line's last `\r`. */
  line(text: string): string {
    const trimmed = text.endsWith("\r") ? text.slice(0, -1) : text;
    const cr = trimmed.lastIndexOf("\r");
    if (cr >= 0) {
      // Text before a carriage return is overwritten on a terminal; only its colour codes still count.
      this.render(trimmed.slice(0, cr));
      return this.render(trimmed.slice(cr + 1));
    }
    return this.render(trimmed);
  }

  private render(text: string): string {
    let html = "";
    let open = classesOf(this.state);
    let last = 0;
    const emit = (piece: string) => {
      if (!piece) return;
      html += open ? `<span class="${open}">${escapeHtml(piece)}</span>` : escapeHtml(piece);
    };
    for (const m of text.matchAll(ESCAPE)) {
      emit(text.slice(last, m.index));
      last = (m.index ?? 0) + m[0].length;
      if (m[2] === "m") {
        const params = (m[1] ?? "").split(/[;:]/).map((p) => (p === "" ? 0 : Number.parseInt(p, 10))).filter((n) => Number.isFinite(n));
        applySgr(this.state, params.length ? params : [0]);
        open = classesOf(this.state);
      }
    }
    emit(text.slice(last));
    return html;
  }
}

/** One line of a log as the page shows it. */
export function logLineHtml(inner: string, at: number | null = null): string {
  return `<div class="log-line" data-testid="log-line"${at === null ? "" : ` data-t="${at}"`}>${inner}</div>`;
}
