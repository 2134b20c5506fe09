/**
 * What the YAML parser's terse messages mean, in plain words, for the people who wrote the file. Each entry matches a
 * message of the `yaml` library (or of the schema check, for the one mistake YAML makes silently: a command with
 * `: ` in it); the explanation is printed with the message.
 */
const EXPLANATIONS: Array<[RegExp, string]> = [
  [/^All mapping items must start at the same column/, "this line is not indented like the lines above it: keys of the same block must start in the same column (indent with the same number of spaces)"],
  [/^Tabs are not allowed as indentation/, "this line is indented with a tab: YAML indents with spaces only"],
  [/^Implicit keys need to be on a single line/, "a key has no colon after it: write `key:` (with the colon) before what belongs to it"],
  [/^Implicit map keys need to be followed by map values/, "this line is neither `key: value` nor a `- item`: add the missing colon, or make it an item of a list with `- `"],
  [/^Unexpected block-seq-ind on same line with key/, "a list starts on the same line as its key: put the `- ` items on the lines below, indented"],
  [/^Missing closing "quote/, "a text in double quotes is never closed: add the closing \""],
  [/^Missing closing 'quote/, "a text in single quotes is never closed: add the closing '"],
  [/^Flow (sequence|map) in block collection must be sufficiently indented and end with a/, "a [list] or {map} written on one line is not closed, or its continuation is not indented: close it with ] or }"],
  [/^Unresolved alias/, "an alias (*name) is used before its anchor (&name) is defined, or the anchor does not exist: define `&name` above, in definitions"],
  [/^Unexpected scalar at node end/, "there is more text after a quoted value on this line: quote the whole value, or remove what follows the closing quote"],
  [/^Map keys must be unique/, "the same key appears twice in one block: keep one of them"],
  [/found a mapping with key/, "a command that contains `: ` is read by YAML as a key and a value: put the whole command in quotes"],
];

/** The plain-words explanation of a parser message, or null when it needs none. */
export function plainWords(message: string): string | null {
  return EXPLANATIONS.find(([re]) => re.test(message))?.[1] ?? null;
}
