/** What a `Range` header asks of a resource of `total` bytes. */
export type ByteRange =
  /** No range (or one in a unit other than bytes, which must be ignored): the whole thing. */
  | { kind: "all" }
  /** Bytes `start` to `end`, both included, already clipped to the resource. */
  | { kind: "range"; start: number; end: number }
  /** Nothing of it can be sent (416): it starts past the end, or the header is not one range this server reads. */
  | { kind: "unsatisfiable"; reason: string };

const SINGLE = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i;

/**
 * Reads one `bytes=a-b`, `bytes=a-` or `bytes=-n` (the last n bytes). Several ranges in one header are not served
 * (a log is read in one piece at a time).
 */
export function parseByteRange(header: string | undefined, total: number): ByteRange {
  if (header === undefined || !/^\s*bytes\s*=/i.test(header)) return { kind: "all" };
  const m = SINGLE.exec(header);
  if (!m || (m[1] === "" && m[2] === "")) return { kind: "unsatisfiable", reason: "Range must be one range: bytes=a-b, bytes=a- or bytes=-n" };
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || total === 0) return { kind: "unsatisfiable", reason: `the log has ${total} bytes` };
    return { kind: "range", start: Math.max(0, total - suffix), end: total - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? total - 1 : Math.min(Number(m[2]), total - 1);
  if (m[2] !== "" && Number(m[2]) < start) return { kind: "unsatisfiable", reason: "Range ends before it starts" };
  if (!Number.isSafeInteger(start) || start >= total) return { kind: "unsatisfiable", reason: `the log has ${total} bytes; the range starts at ${m[1]}` };
  return { kind: "range", start, end };
}
