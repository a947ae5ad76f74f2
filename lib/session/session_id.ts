/**
 * Session ids, and the short handles that stand for them in logs. A session
 * id is a credential (without a token it is all that protects a session), so
 * it is never logged: a handle is 8 hex characters of its SHA-256, enough to
 * follow one session through the log and useless for taking it over.
 *
 * @module
 */

import { sha256 } from "../util/sha256.ts";

/**
 * Creates a session id: 24 random bytes (192 bits) as 32 base64url
 * characters (visible ASCII only).
 *
 * @returns The id.
 */
export function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll(
    "/",
    "_",
  );
}

/**
 * The handle of a session id for logs: `h-` and 8 hex characters of the id's
 * SHA-256.
 *
 * @param id The session id.
 * @returns The handle.
 */
export function sessionHandle(id: string): string {
  const digest = sha256(id);
  let hex = "";
  for (let i = 0; i < 4; i++) hex += digest[i]!.toString(16).padStart(2, "0");
  return "h-" + hex;
}
