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
