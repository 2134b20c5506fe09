/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for tests: every line must be a
 * `# HELP`, a `# TYPE` (before the family's samples, at most once, a known type) or a sample `name{labels} value`
 * whose name belongs to the last declared family (histograms: `_bucket` with `le`, `_sum`, `_count`); label names
 * and values are checked and unescaped; a family's samples are contiguous; anything else throws with the line.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(text: string, line: string): number {
  // Prometheus reads values with Go's ParseFloat: NaN and Inf in any case (prom-client writes "Nan").
  if (/^[+]?inf$/i.test(text)) return Infinity;
  if (/^-inf$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad sample value "${text}" in: ${line}`);
  return Number(text);
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new Error(`label without = in: ${line}`);
    const name = text.slice(i, eq).trim();
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name "${name}" in: ${line}`);
    if (name in labels) throw new Error(`label ${name} twice in: ${line}`);
    if (text[eq + 1] !== '"') throw new Error(`label value not quoted in: ${line}`);
    let j = eq + 2;
    let value = "";
    for (;;) {
      if (j >= text.length) throw new Error(`unterminated label value in: ${line}`);
      const c = text[j];
      if (c === "\\") {
        const n = text[j + 1];
        if (n === "n") value += "\n";
        else if (n === "\\" || n === '"') value += n;
        else throw new Error(`bad escape \\${n} in: ${line}`);
        j += 2;
      } else if (c === '"') {
        j++;
        break;
      } else if (c === "\n") throw new Error(`newline in a label value: ${line}`);
      else {
        value += c;
        j++;
      }
    }
    labels[name] = value;
    if (j < text.length) {
      if (text[j] !== ",") throw new Error(`expected , after a label in: ${line}`);
      j++;
    }
    i = j;
  }
  return labels;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const families = new Map<string, Family>();
  let current = null as Family | null;
  const closed = new Set<string>();
  const familyOf = (name: string): Family => {
    const f = families.get(name);
    if (f) return f;
    const made: Family = { name, type: "untyped", help: "", samples: [] };
    families.set(name, made);
    return made;
  };
  const switchTo = (f: Family) => {
    if (current && current !== f) closed.add(current.name);
    if (closed.has(f.name)) throw new Error(`the samples of ${f.name} are not contiguous`);
    current = f;
  };
  for (const line of text.slice(0, -1).split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) {
        if (/^# (HELP|TYPE)/.test(line)) throw new Error(`malformed comment: ${line}`);
        continue;
      }
      const [, kind, name, rest = ""] = m;
      if (!METRIC_NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      const f = familyOf(name);
      switchTo(f);
      if (kind === "TYPE") {
        if (!TYPES.has(rest)) throw new Error(`unknown type in: ${line}`);
        if (f.samples.length > 0) throw new Error(`TYPE after samples of ${name}`);
        f.type = rest as Family["type"];
      } else f.help = rest.replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!m) throw new Error(`malformed sample line: ${line}`);
    const [, name, labelText = "", valueText] = m;
    const base = current && (name === current.name || (current.type === "histogram" && /_(bucket|sum|count)$/.test(name) && name.replace(/_(bucket|sum|count)$/, "") === current.name))
      ? current
      : familyOf(name);
    switchTo(base);
    const labels = parseLabels(labelText, line);
    if (base.type === "histogram" && name.endsWith("_bucket") && !("le" in labels)) throw new Error(`a bucket without le: ${line}`);
    base.samples.push({ name, labels, value: parseValue(valueText, line) });
  }
  for (const f of families.values()) {
    if (f.type !== "histogram") continue;
    // Buckets per label set: cumulative, ending with +Inf equal to _count.
    const series = new Map<string, Sample[]>();
    for (const s of f.samples.filter((x) => x.name.endsWith("_bucket"))) {
      const { le: _le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    for (const [key, buckets] of series) {
      for (let i = 1; i < buckets.length; i++) if (buckets[i].value < buckets[i - 1].value) throw new Error(`${f.name}${key}: buckets are not cumulative`);
      const last = buckets[buckets.length - 1];
      if (last.labels.le !== "+Inf") throw new Error(`${f.name}${key}: the last bucket is not +Inf`);
      const count = f.samples.find((s) => s.name === `${f.name}_count` && JSON.stringify(s.labels) === key);
      if (!count || count.value !== last.value) throw new Error(`${f.name}${key}: _count differs from the +Inf bucket`);
    }
  }
  return families;
}

/** The value of the sample `name` with exactly these labels among its own (0 when absent). */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length) return s.value;
    }
  }
  return undefined;
}
