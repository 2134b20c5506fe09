import assert from "node:assert/strict";
import { buildChart, chartScale } from "../../src/web/pages/build-chart";
import { formatDuration, manualWaitMs, relativeTime, type BuildView } from "../../src/web/pages/build-view";

const bar = (id: number, durationMs: number | null): BuildView =>
  ({ id, number: id, ref: "main", commitShort: "abc", custom: null, duration: formatDuration(durationMs), durationMs, stateClass: "successful", state: "SUCCESSFUL", stateLabel: "successful", url: `/b/${id}` }) as BuildView;

describe("the builds chart and the times pages show", () => {
  it("one long build does not flatten the others: the scale stops near the usual durations, the long bar is drawn to the top and marked", () => {
    const builds = [bar(21, 3 * 3600_000), ...Array.from({ length: 20 }, (_, i) => bar(20 - i, 60_000 + i * 1000))];
    const chart = buildChart(builds, formatDuration);
    const long = chart.bars.find((b) => b.id === 21);
    const usual = chart.bars.filter((b) => b.id !== 21);
    assert.ok(long?.capped, "the 3-hour build is beyond the scale");
    assert.match(long.title, /3 h 00 min \(beyond the scale\)/);
    assert.ok(usual.every((b) => !b.capped && b.height > 60), `usual bars stay tall: ${usual.map((b) => b.height).join(",")}`);
    assert.equal(chart.capped, 1);
    assert.ok(chart.scaleLabel.length > 0 && !chart.scaleLabel.includes(" h "), chart.scaleLabel);
    assert.equal(chart.maxLabel, "3 h 00 min");
  });

  it("has an axis of round ticks from 0 to the top of the scale; without an outlier the scale reaches the longest build", () => {
    const { max, ticks } = chartScale([30_000, 45_000, 70_000], formatDuration);
    assert.ok(max >= 70_000 && max <= 120_000, String(max));
    assert.equal(ticks[0].label, "0");
    assert.equal(ticks.at(-1)?.value, max);
    assert.deepEqual(ticks.map((t) => t.label), ticks.map((t) => (t.value === 0 ? "0" : formatDuration(t.value))));
    const chart = buildChart([bar(1, 70_000), bar(2, 30_000)], formatDuration);
    assert.equal(chart.capped, 0);
    assert.equal(chart.bars[0].id, 2, "oldest on the left");
  });

  it("relative times: just now, minutes, hours, yesterday, days, then the date", () => {
    const now = Date.parse("2026-05-10T12:00:00Z");
    const ago = (ms: number) => relativeTime(new Date(now - ms), now);
    assert.equal(ago(10_000), "just now");
    assert.equal(ago(3 * 60_000), "3 min ago");
    assert.equal(ago(2 * 3600_000), "2 h ago");
    assert.equal(ago(26 * 3600_000), "yesterday");
    assert.equal(ago(5 * 86400_000), "5 days ago");
    assert.equal(ago(60 * 86400_000), "2026-03-11");
  });

  it("a build's duration leaves out the time it waited for a person to run a manual step", () => {
    const t = (min: number) => new Date(Date.parse("2026-05-10T12:00:00Z") + min * 60_000);
    const steps = [
      { index: 0, manual: false, state: "SUCCESSFUL" as const, startedAt: t(0), finishedAt: t(2) },
      { index: 1, manual: true, state: "SUCCESSFUL" as const, startedAt: t(62), finishedAt: t(63) },
      { index: 2, manual: true, state: "WAITING" as const, startedAt: null, finishedAt: null },
    ];
    // Step 1 waited from minute 2 to 62; step 2 waits from minute 63 to now (minute 70).
    assert.equal(manualWaitMs(steps, t(70).getTime()), 60 * 60_000 + 7 * 60_000);
  });
});
