/**
 * Finds pieces of a JSON text by their source, without parsing it again: the
 * exact text of a message's `id` (so that `1`, `1.0`, `-0` and
 * `9007199254740993` stay apart) and the entries of a batch. The text must
 * already be known to be valid JSON (it was parsed once). For a message too
 * large to parse, `idsAtEdges` reads the id from its first and last bytes.
 *
 * @module
 */

const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const OPEN_BRACE = 0x7b; // {
const CLOSE_BRACE = 0x7d; // }
const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACKET = 0x5d; // ]
const COMMA = 0x2c; // ,
const COLON = 0x3a; // :

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** From the opening quote of a string to just after its closing quote. */
function skipString(text: string, i: number): number {
  let from = i + 1;
  while (true) {
    const close = text.indexOf('"', from);
    if (close === -1) return text.length;
    let slashes = 0;
    for (let k = close - 1; text.charCodeAt(k) === BACKSLASH; k--) slashes++;
    if (slashes % 2 === 0) return close + 1;
    from = close + 1;
  }
}

/** From the first character of a value to just after it. */
function skipValue(text: string, i: number): number {
  const first = text.charCodeAt(i);
  if (first === QUOTE) return skipString(text, i);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    while (i < text.length) {
      const code = text.charCodeAt(i);
      if (
        code === COMMA || code === CLOSE_BRACE || code === CLOSE_BRACKET ||
        isSpace(code)
      ) break;
      i++;
    }
    return i;
  }
  let depth = 0;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      i = skipString(text, i);
      continue;
    }
    if (code === OPEN_BRACE || code === OPEN_BRACKET) depth++;
    else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  return i;
}

/**
 * The source text of the `id` member of a JSON object, exactly as written
 * (`1.0` stays `1.0`, `"a"` keeps its quotes and escapes).
 *
 * @param text A valid JSON text whose top-level value is an object.
 * @returns The id's text, or undefined when the object has no `id`.
 */
export function idSource(text: string): string | undefined {
  const range = memberAt(text, 0, "id");
  return range === undefined ? undefined : text.slice(...range);
}

/**
 * Where the value of member `key` of the object that starts at `from` is
 * written: the last such member, as in `JSON.parse`.
 */
function memberAt(
  text: string,
  from: number,
  key: string,
): [number, number] | undefined {
  let i = skipSpace(text, from);
  if (text.charCodeAt(i) !== OPEN_BRACE) return undefined;
  i++;
  const quoted = JSON.stringify(key);
  let found: [number, number] | undefined;
  while (i < text.length) {
    i = skipSpace(text, i);
    const code = text.charCodeAt(i);
    if (code === CLOSE_BRACE) break;
    if (code === COMMA) {
      i++;
      continue;
    }
    if (code !== QUOTE) return found;
    const keyEnd = skipString(text, i);
    const name = text.slice(i, keyEnd);
    i = skipSpace(text, keyEnd);
    if (text.charCodeAt(i) !== COLON) return found;
    i = skipSpace(text, i + 1);
    const valueEnd = skipValue(text, i);
    if (name === quoted || (name.includes("\\") && JSON.parse(name) === key)) {
      found = [i, valueEnd];
      // A duplicate member would win over this one, as in JSON.parse: only
      // when the name occurs again later is the rest scanned.
      if (text.indexOf(quoted, valueEnd) === -1) return found;
    }
    i = valueEnd;
  }
  return found;
}

/**
 * Where a nested member is written in a JSON text, such as
 * `["params", "_meta", "progressToken"]`, so that its value can be replaced
 * without writing the rest of the text again (numbers elsewhere keep their
 * exact digits).
 *
 * @param text A valid JSON text whose top-level value is an object.
 * @param path Member names from the top-level object down.
 * @returns The value's start and end offsets, or undefined when absent.
 */
export function memberRange(
  text: string,
  path: readonly string[],
): [number, number] | undefined {
  let range: [number, number] | undefined = [0, text.length];
  for (const key of path) {
    range = memberAt(text, range[0], key);
    if (range === undefined) return undefined;
  }
  return range;
}

/**
 * Replaces the value of a nested member (see {@linkcode memberRange}).
 *
 * @param text A valid JSON text whose top-level value is an object.
 * @param path Member names from the top-level object down.
 * @param value The new value's JSON text.
 * @returns The new text, or undefined when the member is absent.
 */
export function replaceMember(
  text: string,
  path: readonly string[],
  value: string,
): string | undefined {
  const range = memberRange(text, path);
  if (range === undefined) return undefined;
  return text.slice(0, range[0]) + value + text.slice(range[1]);
}

/**
 * The entries of a JSON array, each as its own source text (without the
 * whitespace around it).
 *
 * @param text A valid JSON text whose top-level value is an array.
 * @returns The entries' texts, in order.
 */
export function arrayEntries(text: string): string[] {
  const entries: string[] = [];
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== OPEN_BRACKET) return entries;
  i++;
  while (i < text.length) {
    i = skipSpace(text, i);
    const code = text.charCodeAt(i);
    if (code === CLOSE_BRACKET) break;
    if (code === COMMA) {
      i++;
      continue;
    }
    const end = skipValue(text, i);
    entries.push(text.slice(i, end));
    i = end;
  }
  return entries;
}

const ID_VALUE = String
  .raw`(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|"(?:[^"\\]|\\.)*")`;
const HEAD_ID = new RegExp(
  String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*` + ID_VALUE,
);
const TAIL_ID = new RegExp(
  String.raw`"id"\s*:\s*` + ID_VALUE + String.raw`\s*\}\s*$`,
);

/**
 * Tries to read the id of a message from the edges of its text, for a message
 * too large to be parsed. Only ids written first (optionally after
 * `"jsonrpc"`) or last in the top-level object are recognised.
 *
 * @param head The first bytes of the message.
 * @param tail The last bytes of the message.
 * @returns The candidate ids found (at most two), as written (see
 *   `CheckedMessage.key`).
 */
export function idsAtEdges(head: string, tail: string): string[] {
  const found: string[] = [];
  for (const match of [HEAD_ID.exec(head), TAIL_ID.exec(tail)]) {
    if (!match?.[1]) continue;
    try {
      const id = JSON.parse(match[1]);
      if (typeof id === "string" || Number.isFinite(id)) found.push(match[1]);
    } catch {
      // not a complete id: ignore
    }
  }
  return found;
}
