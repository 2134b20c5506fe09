import type { BuildView } from "./build-view";

export interface ChartBar {
  id: number;
  number: number;
  x: number;
  y: number;
  width: number;
  height: number;
  stateClass: string;
  state: string;
  /** Longer than the scale: drawn to the top with a break mark, its real duration in its label. */
  capped: boolean;
  capY: number;
  /** The tooltip and accessible name: `#12 main · 1 min 03 s · successful`. */
  title: string;
  url: string;
}

export interface ChartTick {
  y: number;
  label: string;
}

export interface BuildChart {
  width: number;
  height: number;
  /** Where the plot starts (left of it: the axis labels) and where its baseline is. */
  left: number;
  bottom: number;
  bars: ChartBar[];
  ticks: ChartTick[];
  /** The longest duration shown, and what the scale stops at when one build would flatten the others. */
  maxLabel: string;
  scaleLabel: string;
  capped: number;
  empty: boolean;
}

const WIDTH = 960;
const HEIGHT = 140;
const LEFT = 64;
const TOP = 8;
const BOTTOM = HEIGHT - 4;
const SLOTS = 50;
/** Nice tick steps (ms): 1, 2, 5, 10, 15, 30 s; 1, 2, 5, 10, 15, 30 min; 1, 2, 3, 6, 12 h. */
const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200].map((s) => s * 1000);

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))];
}

/**
 * The top of the scale: the longest build, unless one build is far longer than the rest (over twice what follows, among
 * five builds or more) — then 1.5 times the median
 * or 1.25 times the 90th percentile, whichever is more, so one long build cannot flatten every other bar (it is drawn to
 * the top with a break mark, and its label says how long it took). Rounded up to a whole number of ticks.
 */
export function chartScale(durations: readonly number[], format: (ms: number) => string): { max: number; ticks: { value: number; label: string }[] } {
  const sorted = durations.filter((d) => d > 0).sort((a, b) => a - b);
  const longest = sorted.at(-1) ?? 1000;
  const cap = Math.max(1.5 * quantile(sorted, 0.5), 1.25 * quantile(sorted, 0.9));
  // Only a real outlier (more than twice the cap, among enough builds to say what is usual) is cut off.
  const outlier = sorted.length >= 5 && longest > 2 * cap;
  const top = Math.max(1000, outlier ? cap : longest);
  const step = STEPS.find((s) => top / s <= 4) ?? Math.ceil(top / 4 / 3_600_000) * 3_600_000;
  const max = Math.ceil(top / step) * step;
  const ticks = [];
  for (let v = 0; v <= max; v += step) ticks.push({ value: v, label: v === 0 ? "0" : format(v) });
  return { max, ticks };
}

/**
 * The last builds as duration bars (oldest on the left) on a labelled time axis, coloured by result through CSS
 * classes — inline SVG with no script, no inline style and nothing fetched; each bar is a link to its build. A build
 * that has not started gets a sliver, so it still shows.
 */
export function buildChart(builds: readonly BuildView[], format: (ms: number) => string): BuildChart {
  const shown = builds.slice(0, SLOTS).reverse();
  const durations = shown.map((b) => b.durationMs ?? 0);
  const { max, ticks } = chartScale(durations, format);
  const plot = BOTTOM - TOP;
  const slot = (WIDTH - LEFT) / SLOTS;
  const yOf = (ms: number) => Math.round((BOTTOM - (Math.min(ms, max) / max) * plot) * 10) / 10;
  const bars = shown.map((b, i) => {
    const d = b.durationMs ?? 0;
    const capped = d > max;
    const height = Math.max(2, Math.round((Math.min(d, max) / max) * plot));
    return {
      id: b.id,
      number: b.number,
      x: Math.round((LEFT + i * slot) * 10) / 10,
      y: BOTTOM - height,
      width: Math.round((slot - 3) * 10) / 10,
      height,
      stateClass: b.stateClass,
      state: b.state,
      capped,
      capY: TOP + 6,
      title: `Build #${b.number} ${b.custom ? `custom: ${b.custom}` : b.ref || b.commitShort} · ${b.duration || "not started"}${capped ? " (beyond the scale)" : ""} · ${b.stateLabel}`,
      url: b.url,
    };
  });
  const longest = Math.max(0, ...durations);
  return {
    width: WIDTH,
    height: HEIGHT,
    left: LEFT,
    bottom: BOTTOM,
    bars,
    ticks: ticks.map((t) => ({ y: yOf(t.value), label: t.label })),
    maxLabel: format(Math.max(1, longest)),
    scaleLabel: format(max),
    capped: bars.filter((b) => b.capped).length,
    empty: bars.length === 0,
  };
}
