import { escapeHtml } from "../pages/ansi-html";

/** What a badge says about a branch, and its colour (Atlassian design tokens). */
export interface BadgeStatus {
  message: string;
  colour: string;
}

const BY_STATE: Record<string, BadgeStatus> = {
  SUCCESSFUL: { message: "passing", colour: "#1f845a" },
  FAILED: { message: "failing", colour: "#c9372c" },
  STOPPED: { message: "stopped", colour: "#a54800" },
  /** Only while the branch's first build runs: later a running build shows the result before it. */
  RUNNING: { message: "running", colour: "#0055cc" },
};
const UNKNOWN: BadgeStatus = { message: "no builds", colour: "#626f86" };

/** The badge for the state of a branch's newest finished build (null: none yet). */
export function badgeStatus(state: string | null): BadgeStatus {
  return (state && BY_STATE[state]) || UNKNOWN;
}

/** Width of `text` in 11px Verdana, near enough for a badge (no font metrics are loaded). */
function textWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += /[iljtf.,:;'|!I ]/.test(ch) ? 4 : /[mwMW@]/.test(ch) ? 10 : /[A-Z]/.test(ch) ? 8 : 7;
  return w;
}

/** A flat two-part status badge ("pipelines | passing"), as README badges look. No script, no external reference. */
export function badgeSvg(label: string, status: BadgeStatus): string {
  const lw = textWidth(label) + 12;
  const mw = textWidth(status.message) + 12;
  const w = lw + mw;
  const l = escapeHtml(label);
  const m = escapeHtml(status.message);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" role="img" aria-label="${l}: ${m}">` +
    `<title>${l}: ${m}</title>` +
    `<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>` +
    `<clipPath id="r"><rect width="${w}" height="20" rx="3" fill="#fff"/></clipPath>` +
    `<g clip-path="url(#r)"><rect width="${lw}" height="20" fill="#44546f"/><rect x="${lw}" width="${mw}" height="20" fill="${status.colour}"/><rect width="${w}" height="20" fill="url(#s)"/></g>` +
    `<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">` +
    `<text x="${lw / 2}" y="14">${l}</text><text x="${lw + mw / 2}" y="14">${m}</text></g></svg>`
  );
}
