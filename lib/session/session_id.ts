/**
 * Session ids, and the short handles that stand for them in logs. A session
 * id is a credential (without a token it is all that protects a session), so
 * it is never logged: a handle is 8 hex characters of its SHA-256, enough to
 * follow one session through the log and useless for taking it over.
 *
 * @module
 */

import { createHash } from "node:crypto";

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
  return "h-" + createHash("sha256").update(id).digest("hex").slice(0, 8);
}
