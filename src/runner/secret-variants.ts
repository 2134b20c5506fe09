/**
 * The forms in which a secret value can show up in a step's output: the value itself, its URL encodings and its
 * base64 encodings. Used by the masker; a variant shorter than `minLength` is left out (it would mask too much).
 *
 * Base64 of a secret embedded in a longer base64 text (`echo "user:$PASS" | base64`) depends on where the secret
 * starts relative to a 3-byte group, so for each of the three alignments we keep only the characters that are
 * fully determined by the secret's own bits. Those fragments are found wherever the secret sits in the encoded
 * bytes; the whole encodings (with and without `=` padding) are listed too, so a plain `base64` of the secret is
 * masked completely.
 */
export function secretVariants(secret: string, minLength: number): string[] {
  const out = new Set<string>([secret]);
  const url = encodeURIComponent(secret);
  for (const hex of [url, url.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())]) {
    out.add(hex);
    out.add(hex.replace(/%20/g, "+")); // form encoding
  }

  const bytes = Buffer.from(secret, "utf8");
  const padded = bytes.toString("base64");
  for (const b64 of [padded, padded.replace(/=+$/, "")]) {
    out.add(b64);
    out.add(toUrlSafe(b64));
  }
  for (let align = 0; align < 3; align++) {
    const encoded = Buffer.concat([Buffer.alloc(align), bytes]).toString("base64");
    const first = Math.ceil((8 * align) / 6);
    const end = Math.floor((8 * (align + bytes.length)) / 6);
    const fragment = encoded.slice(first, end);
    out.add(fragment);
    out.add(toUrlSafe(fragment));
  }
  return [...out].filter((v) => v.length >= minLength);
}

function toUrlSafe(b64: string): string {
  return b64.replace(/\+/g, "-").replace(/\//g, "_");
}
