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
  /** The tooltip: `#12 main · 1 min 03 s · successful`. */
  title: string;
  url: string;
}

export interface BuildChart {
  width: number;
  height: number;
  bars: ChartBar[];
  /** The longest duration shown, for the axis label. */
  maxLabel: string;
  empty: boolean;
}

const WIDTH = 600;
const HEIGHT = 80;
const SLOTS = 50;

/**
 * The last builds as duration bars (oldest on the left), coloured by result through CSS classes — inline SVG with
 * no script, no inline style and nothing fetched. A build that has not started gets a sliver, so it still shows.
 */
export function buildChart(builds: readonly BuildView[], maxLabel: (ms: number) => string): BuildChart {
  const shown = builds.slice(0, SLOTS).reverse();
  const longest = Math.max(1, ...shown.map((b) => b.durationMs ?? 0));
  const slot = WIDTH / SLOTS;
  const bars = shown.map((b, i) => {
    const height = Math.max(2, Math.round(((b.durationMs ?? 0) / longest) * (HEIGHT - 2)));
    return {
      id: b.id,
      number: b.number,
      x: Math.round(i * slot * 10) / 10,
      y: HEIGHT - height,
      width: Math.round((slot - 2) * 10) / 10,
      height,
      stateClass: b.stateClass,
      state: b.state,
      title: `#${b.number} ${b.ref || b.commitShort} · ${b.duration || "not started"} · ${b.stateLabel}`,
      url: b.url,
    };
  });
  return { width: WIDTH, height: HEIGHT, bars, maxLabel: maxLabel(longest), empty: bars.length === 0 };
}
