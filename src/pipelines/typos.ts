/**
 * Is an unknown key a misspelling of a known one? A misspelt key is ignored by Bitbucket, which can change what a
 * pipeline does without a word (`triger: manual` deploys without waiting for anyone), so the caller makes such a
 * key an error that names the key it probably meant.
 */

/** Case, `-`, `_` and spaces do not tell keys apart for people: `after_script`, `Max-Time`. */
function normalise(key: string): string {
  return key.toLowerCase().replace(/[-_\s]/g, "");
}

/**
 * The optimal-string-alignment distance between `a` and `b` (insertions, deletions, substitutions and swaps of two
 * neighbouring characters each cost 1), or `limit + 1` as soon as it is certainly above `limit`.
 */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (beforePrevious[j - 2] as number) + 1);
      current.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > limit) return limit + 1;
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length] as number;
}

/** How far a key may be from a known one and still be taken for a misspelling of it. */
function tolerance(key: string): number {
  return key.length <= 4 ? 1 : 2;
}

/**
 * The known key that `key` most likely misspells, or undefined. A key counts as a misspelling when it differs from
 * a known key only in case, `-`/`_`, a trailing `s` (`scripts`, `artifact`), or by one edit (two for keys longer
 * than four characters): `triger`, `depoyment`, `debth`. Keys shorter than three characters are never guessed.
 */
export function likelyMeant(key: string, known: readonly string[]): string | undefined {
  if (known.includes(key) || key.length < 3) return undefined;
  const k = normalise(key);
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const c = normalise(candidate);
    let distance: number;
    if (c === k) distance = 0;
    else if (c === `${k}s` || `${c}s` === k) distance = 0.5;
    else distance = editDistance(k, c, tolerance(k));
    if (distance <= tolerance(k) && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}
