/**
 * Byte helpers shared by the runner's modules (private to lib/).
 *
 * @module
 */

/**
 * Joins byte arrays into one.
 *
 * @param parts The pieces, in order.
 * @param length Their total length, when the caller already knows it.
 * @returns One array holding every piece (the piece itself when there is one).
 */
export function concat(parts: Uint8Array[], length?: number): Uint8Array {
  if (
    parts.length === 1 && (length === undefined || length === parts[0]!.length)
  ) return parts[0]!;
  let total = length ?? 0;
  if (length === undefined) { for (const part of parts) total += part.length; }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const encoder = new TextEncoder();
/** Where {@linkcode utf8Length} encodes, a piece at a time. */
const scratch = new Uint8Array(64 * 1024);
/** UTF-16 code units per piece: each encodes to 3 bytes at most. */
const PIECE = Math.floor(scratch.length / 3);

/**
 * The length of a string's UTF-8 encoding (as `TextEncoder` writes it: a
 * lone surrogate counts as U+FFFD), without allocating it: a long string is
 * encoded a piece at a time into a small buffer.
 *
 * @param text The string.
 * @returns Its length in UTF-8 bytes.
 */
export function utf8Length(text: string): number {
  if (text.length <= PIECE) return encoder.encodeInto(text, scratch).written;
  let total = 0;
  for (let start = 0; start < text.length;) {
    let end = Math.min(text.length, start + PIECE);
    // A surrogate pair stays in one piece.
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    total += encoder.encodeInto(text.substring(start, end), scratch).written;
    start = end;
  }
  return total;
}

/** Pieces at least this long are written on their own, not copied. */
const COPY_LIMIT = 64 * 1024;

/**
 * The writes for a batch: runs of short pieces joined, long pieces alone.
 *
 * @param parts The pieces, in order.
 * @param length Their total length.
 * @returns What to write, in order.
 */
export function coalesce(parts: Uint8Array[], length: number): Uint8Array[] {
  if (length < COPY_LIMIT || parts.length === 1) return [concat(parts, length)];
  const writes: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  let runLength = 0;
  const endRun = () => {
    if (run.length > 0) writes.push(concat(run, runLength));
    run = [];
    runLength = 0;
  };
  for (const part of parts) {
    if (part.length >= COPY_LIMIT) {
      endRun();
      writes.push(part);
      continue;
    }
    run.push(part);
    runLength += part.length;
  }
  endRun();
  return writes;
}
