import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from "playwright-core";

/** Debian's chromium (scripts/ensure-system-packages.sh installs it); playwright-core downloads no browser. */
export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];
export const RESULTS_DIR = path.resolve(__dirname, "..", "..", "test-results", "browser");

export interface Chromium {
  context: BrowserContext;
  /** Console errors of every page and frame so far (CSP violations show up here). */
  consoleErrors: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Starts chromium with a fresh profile. Fails (never skips) when the browser is missing: the browser tests are part of
 * the suite, and a machine without chromium has a broken setup.
 */
export async function launchChromium(): Promise<Chromium> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `the browser tests need Debian's chromium at ${CHROMIUM}, which is missing: run "bash scripts/ensure-system-packages.sh tests" as root ` +
        '(npm test runs it as pretest) or "apt-get install chromium"',
    );
  }
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pipelines-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
      timeout: 20_000,
    });
  } catch (err) {
    fs.rmSync(userDataDir, { recursive: true, force: true });
    throw new Error(`chromium at ${CHROMIUM} did not start: ${(err as Error).message}`, { cause: err });
  }
  // Generous: CI may share the machine; a wait that needs it still fails, only later.
  context.setDefaultTimeout(30_000);
  const consoleErrors: string[] = [];
  const onConsole = (msg: ConsoleMessage) => {
    if (msg.type() === "error") consoleErrors.push(msg.text());
  };
  return {
    context,
    consoleErrors,
    async newPage() {
      const page = await context.newPage();
      page.on("console", onConsole);
      page.on("pageerror", (err) => consoleErrors.push(`uncaught: ${err.message}`));
      return page;
    },
    async close() {
      await context.close().catch(() => undefined);
      fs.rmSync(userDataDir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/** Empties test-results/browser/ (screenshots of an earlier run would mislead). */
export function clearResults(): void {
  fs.rmSync(RESULTS_DIR, { recursive: true, force: true });
}

/** Saves a full-page screenshot under test-results/browser/. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name.replace(/[^a-z0-9-]+/gi, "-").toLowerCase()}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** The app's page inside the host page's iframe. */
export function appFrame(page: Page) {
  return page.frameLocator('[data-testid="host-frame"]');
}

/** A fresh page for each test of the suite (handed to `use`), closed after it, with a screenshot when the test failed. */
export function pagePerTest(browser: () => Chromium, use: (page: Page) => void): void {
  let page: Page | null = null;
  beforeEach(async () => {
    page = await browser().newPage();
    use(page);
  });
  afterEach(async function () {
    if (!page) return;
    if (this.currentTest?.state === "failed") await screenshot(page, `failed-${this.currentTest.title}`).catch(() => undefined);
    await page.close();
    page = null;
  });
}
