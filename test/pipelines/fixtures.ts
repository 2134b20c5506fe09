/**
 * The shared corpus of real bitbucket-pipelines.yml files (read-only; see PROVENANCE.md beside them).
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { formatDiagnostic, parsePipelineFile, type PipelineConfig } from "../../src/pipelines";

/** The fixtures folder, found relative to the project root (…/main/../shared/fixtures/pipelines). */
export const FIXTURES_DIR = path.join(__dirname, "..", "..", "..", "shared", "fixtures", "pipelines");

/** The one fixture that is invalid as committed: it has no top-level `pipelines` section. */
export const INVALID_FIXTURE = "11-1919sai-multiple-projects-deployment.yml";

/** Every pipeline file in the corpus, sorted. */
export function fixtureFiles(): string[] {
  return readdirSync(FIXTURES_DIR)
    .filter((name) => name.endsWith(".yml") || name.endsWith(".yaml"))
    .sort();
}

export function readFixture(name: string): string {
  return readFileSync(path.join(FIXTURES_DIR, name), "utf8");
}

/** Parses pipeline text that must be valid, and returns its configuration. */
export function configOf(text: string): PipelineConfig {
  const result = parsePipelineFile(text);
  if (!result.ok) throw new Error(`expected a valid pipeline file:\n${result.errors.map((d) => formatDiagnostic(d)).join("\n")}`);
  return result.config;
}

/** The configuration of a valid fixture. */
export function fixtureConfig(name: string): PipelineConfig {
  return configOf(readFixture(name));
}
