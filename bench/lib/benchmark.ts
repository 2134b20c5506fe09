/**
 * What every benchmark module exports, and how its figures are judged. A benchmark measures the service and a
 * baseline in the same run and states its targets as ratios to that baseline (or as absolute bounds where a
 * ratio means nothing, like a latency percentile or a memory growth); `bench/run.ts` prints and judges them.
 */

/** One figure worth printing, already formatted: `label: value`. */
export interface Figure {
  label: string;
  value: string;
}

/** A target with the measured value: `pass` is decided by the benchmark, which knows which way is better. */
export interface Check {
  /** What is compared, with the bound: "throughput ratio ≥ 0.75×". */
  name: string;
  /** The measured value, formatted: "0.81×". */
  measured: string;
  pass: boolean;
}

export interface Outcome {
  figures: Figure[];
  checks: Check[];
}

export interface Benchmark {
  /** The name given on the command line: `npm run bench -- <name>`. */
  name: string;
  /** One line: what is measured against what. */
  title: string;
  run(): Promise<Outcome>;
}

/** A check that a measured number is at most / at least a bound. */
export function atMost(name: string, measured: number, bound: number, format: (n: number) => string): Check {
  return { name: `${name} ≤ ${format(bound)}`, measured: format(measured), pass: measured <= bound };
}

export function atLeast(name: string, measured: number, bound: number, format: (n: number) => string): Check {
  return { name: `${name} ≥ ${format(bound)}`, measured: format(measured), pass: measured >= bound };
}

export const fmt = {
  ratio: (n: number) => `${n.toFixed(2)}×`,
  ms: (n: number) => `${n.toFixed(n < 10 ? 1 : 0)} ms`,
  perSecond: (n: number) => `${Math.round(n)} req/s`,
  mb: (bytes: number) => `${(bytes / 1_000_000).toFixed(1)} MB`,
  count: (n: number) => n.toLocaleString("en-US"),
};
