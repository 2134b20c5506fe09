import fs from "node:fs";
import type { Frame, Page } from "playwright-core";

/** axe-core's browser bundle (a devDependency), injected into a page or frame by the test, never served by the app. */
const AXE_SOURCE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Runs axe-core (WCAG 2 A/AA rules and best practices) on what a page or frame shows now, and returns its serious
 * and critical violations, each with the elements concerned. The script is evaluated through the browser's
 * debugging protocol, so the page's Content-Security-Policy (no inline script) is not relaxed for it.
 */
export async function seriousViolations(target: Page | Frame): Promise<AxeViolation[]> {
  await target.evaluate(AXE_SOURCE);
  const found = await target.evaluate(async () => {
    // Runs in the browser: axe and the document are the page's.
    const g = globalThis as unknown as { document: unknown; axe: { run(ctx: unknown, opts: object): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } };
    const result = await g.axe.run(g.document, { resultTypes: ["violations"], runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => JSON.stringify(n.target)) }));
  });
  return found.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** Fails with every serious or critical violation spelled out. */
export async function assertAccessible(target: Page | Frame, what: string): Promise<void> {
  const violations = await seriousViolations(target);
  if (violations.length > 0) {
    const text = violations.map((v) => `${v.impact} ${v.id}: ${v.help}\n    ${v.nodes.slice(0, 5).join("\n    ")}`).join("\n");
    throw new Error(`${what}: ${violations.length} serious or critical accessibility violation(s):\n${text}`);
  }
}

/** The app's frame inside the stand-in's host page. */
export async function appFrameOf(page: Page): Promise<Frame> {
  const handle = await page.waitForSelector('[data-testid="host-frame"]');
  const frame = await handle.contentFrame();
  if (!frame) throw new Error("the host page has no app frame");
  await frame.waitForLoadState("load");
  return frame;
}
