import { BENCHMARKS } from "./benchmarks";
import type { Benchmark, Outcome } from "./lib/benchmark";

/**
 * `npm run bench [-- <name>…]`: runs the named benchmarks (all by default) one after another, prints each one's
 * figures and targets, and exits with status 1 if a target was missed or a benchmark failed to run.
 */

function usage(): string {
  return `usage: npm run bench [-- <name>…]\nbenchmarks:\n${BENCHMARKS.map((b) => `  ${b.name.padEnd(14)} ${b.title}`).join("\n")}`;
}

function select(args: string[]): Benchmark[] | null {
  if (args.length === 0) return [...BENCHMARKS];
  const chosen: Benchmark[] = [];
  for (const name of args) {
    const b = BENCHMARKS.find((x) => x.name === name);
    if (!b) {
      console.error(`unknown benchmark "${name}"`);
      return null;
    }
    chosen.push(b);
  }
  return chosen;
}

function print(b: Benchmark, outcome: Outcome, seconds: number): void {
  const width = Math.max(...outcome.figures.map((f) => f.label.length));
  for (const f of outcome.figures) console.log(`  ${f.label.padEnd(width)}  ${f.value}`);
  for (const c of outcome.checks) console.log(`  ${c.pass ? "PASS" : "FAIL"}  ${c.name}: ${c.measured}`);
  console.log(`  (${b.name} took ${seconds.toFixed(0)} s)`);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes("-h") || args.includes("--help")) {
    console.log(usage());
    return 0;
  }
  const chosen = select(args);
  if (!chosen) {
    console.error(usage());
    return 2;
  }
  const failed: string[] = [];
  for (const b of chosen) {
    console.log(`\n== ${b.name}: ${b.title}`);
    const started = Date.now();
    try {
      const outcome = await b.run();
      print(b, outcome, (Date.now() - started) / 1000);
      if (outcome.checks.some((c) => !c.pass)) failed.push(b.name);
    } catch (err) {
      console.log(`  ERROR  ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      failed.push(b.name);
    }
  }
  console.log(failed.length ? `\nbench: FAIL (${failed.join(", ")})` : "\nbench: PASS");
  return failed.length ? 1 : 0;
}

main().then((code) => process.exit(code));
