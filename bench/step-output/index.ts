import { atMost, fmt, type Benchmark, type Check } from "../lib/benchmark";
import { PRINT_COMMAND, runStepInFreshProcess, type StepRunMessage, type StepRunMode } from "./step-run";

/**
 * step-output: a step that prints ~200 MB, in the sandbox executor, through runStep's masking into a LogSink
 * (default 8 MiB cap) whose chunks go into a sqlite table, against the same command (in the same sandbox) with its
 * output sent to /dev/null. Runs alternate for a few
 * rounds, each in a fresh process; wall times are compared by their medians (the machine is noisy), and the RSS
 * growth judged is the largest of the measured runs.
 */

const ROUNDS = Number(process.env.BENCH_STEP_ROUNDS ?? 5);
const RSS_GROWTH_TARGET = 64 * 1_000_000;
const WALL_RATIO_TARGET = 1.5;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const walls = (runs: StepRunMessage[]) => runs.map((r) => fmt.ms(r.wallMs)).join(", ");

export const stepOutput: Benchmark = {
  name: "step-output",
  title: `a step printing ~200 MB (${PRINT_COMMAND}) through masking into a sqlite-backed LogSink vs the same > /dev/null; ${ROUNDS} rounds`,
  async run() {
    const runs: Record<StepRunMode, StepRunMessage[]> = { baseline: [], measured: [], "pipe-reader": [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of ["baseline", "measured", "pipe-reader"] as const) runs[mode].push(await runStepInFreshProcess(mode, round));
    }
    const { baseline, measured } = runs;
    const baseWall = median(baseline.map((r) => r.wallMs));
    const wall = median(measured.map((r) => r.wallMs));
    const readerWall = median(runs["pipe-reader"].map((r) => r.wallMs));
    const growths = measured.map((r) => r.rssMax - r.rssStart);
    const growth = Math.max(...growths);
    const last = measured[measured.length - 1];

    const all = [...baseline, ...measured, ...runs["pipe-reader"]];
    const sound = all.every((r) => r.state === "SUCCESSFUL" && r.secretMasked) && measured.every((r) => r.truncated);
    const checks: Check[] = [
      atMost("RSS growth (max − start, worst run)", growth, RSS_GROWTH_TARGET, fmt.mb),
      atMost("wall time / baseline (medians)", wall / baseWall, WALL_RATIO_TARGET, fmt.ratio),
      {
        name: "every step SUCCESSFUL, the log cut at its cap with the notice, the secret masked",
        measured: sound ? "yes" : all.map((r) => `${r.mode}: ${r.state}, truncated ${r.truncated}, masked ${r.secretMasked}`).join("; "),
        pass: sound,
      },
    ];
    return {
      figures: [
        { label: "printed", value: `${fmt.mb(last.printedBytes)}; stored ${fmt.mb(last.storedBytes)} in ${last.chunkRows} sqlite rows, dropped ${fmt.mb(last.droppedBytes)}` },
        { label: "baseline wall", value: `${fmt.ms(baseWall)} median (${walls(baseline)})` },
        { label: "measured wall", value: `${fmt.ms(wall)} median (${walls(measured)})` },
        { label: "wall ratio", value: `${fmt.ratio(wall / baseWall)} (measured / baseline)` },
        {
          label: "where it goes",
          value: `cap reached after ${measured.map((r) => (r.capReachedMs === null ? "never" : fmt.ms(r.capReachedMs))).join(", ")}; sqlite inserts ${measured.map((r) => fmt.ms(r.insertMs)).join(", ")}`,
        },
        { label: "reference", value: `${fmt.ms(readerWall)} median = ${fmt.ratio(readerWall / baseWall)} baseline with "| cat > /dev/null" (any second reader of the pipe; not a target)` },
        { label: "RSS growth", value: `${growths.map(fmt.mb).join(", ")} (start ${fmt.mb(last.rssStart)}, ${last.samples} samples in the last run); baseline runs ${baseline.map((r) => fmt.mb(r.rssMax - r.rssStart)).join(", ")}` },
      ],
      checks,
    };
  },
};
