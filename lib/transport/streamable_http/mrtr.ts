/**
 * The pieces of 2026-07-28 multi round-trip requests (MRTR) that hold no
 * state: the `requestState` token (HMAC-SHA256 over what it names, with an
 * expiry), the keys of `inputRequests`, the client capability each child
 * request needs, and the check of an answer before it reaches the child.
 *
 * @module
 */

/** The `_meta` key a legacy server may name its input request's key with. */
export const INPUT_KEY_META = "mcp-server-runner/inputKey";

/** The methods that may answer with an `InputRequiredResult`. */
export const INTERACTIVE: ReadonlySet<string> = new Set([
  "tools/call",
  "prompts/get",
  "resources/read",
]);

const KEY = /^[A-Za-z0-9_.-]{1,64}$/;

/** What a token names. */
export interface TokenClaims {
  /** The parked call. */
  call: string;
  /** The request's method. */
  method: string;
  /** A digest of its params (without `_meta` and the retry fields). */
  digest: string;
  /** The round it was minted for (earlier tokens of a call are spent). */
  round: number;
  /** Expiry, in epoch milliseconds. */
  expires: number;
}

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}

function unbase64url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    const plain = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(plain, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

const encoder = new TextEncoder();

/** Mints and checks `requestState` tokens with a key of this process. */
export class TokenCodec {
  #key: Promise<CryptoKey>;

  constructor() {
    this.#key = crypto.subtle.generateKey(
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    ) as Promise<CryptoKey>;
  }

  /**
   * A token for these claims: `rs1.<payload>.<mac>`.
   *
   * @param claims What it names.
   * @returns The token.
   */
  async mint(claims: TokenClaims): Promise<string> {
    const payload = encoder.encode(JSON.stringify(claims));
    const mac = new Uint8Array(
      await crypto.subtle.sign("HMAC", await this.#key, payload),
    );
    return `rs1.${base64url(payload)}.${base64url(mac)}`;
  }

  /**
   * The claims of a token this process minted and that has not expired.
   *
   * @param token A `requestState` value.
   * @param now The time.
   * @returns The claims, or undefined for anything else.
   */
  async open(
    token: string,
    now = Date.now(),
  ): Promise<TokenClaims | undefined> {
    const parts = token.split(".");
    if (parts.length !== 3 || parts[0] !== "rs1") return undefined;
    const payload = unbase64url(parts[1]!);
    const mac = unbase64url(parts[2]!);
    if (payload === undefined || mac === undefined) return undefined;
    const ok = await crypto.subtle.verify(
      "HMAC",
      await this.#key,
      mac as Uint8Array<ArrayBuffer>,
      payload as Uint8Array<ArrayBuffer>,
    );
    if (!ok) return undefined;
    let claims: TokenClaims;
    try {
      claims = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return undefined;
    }
    return claims.expires > now ? claims : undefined;
  }
}

/**
 * A digest of a request's params that ignores what changes between rounds
 * (`_meta`, `inputResponses`, `requestState`).
 *
 * @param params The params.
 * @returns A hex SHA-256.
 */
export async function paramsDigest(
  params: Record<string, unknown>,
): Promise<string> {
  const { _meta: _, inputResponses: _i, requestState: _r, ...rest } = params;
  const bytes = encoder.encode(JSON.stringify(rest));
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...hash].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The short name of a child request's method, for fallback keys. */
function kindOf(method: string): string {
  return method === "elicitation/create"
    ? "elicitation"
    : method === "sampling/createMessage"
    ? "sampling"
    : "roots";
}

/**
 * The key of one input request: the child's hint when it is valid and
 * unused, else `elicitation_<n>`, `sampling_<n>` or `roots_<n>`.
 *
 * @param method The child request's method.
 * @param params Its params (the hint is removed from them).
 * @param used Keys given so far in this call (the new one is added).
 * @returns The key.
 */
export function inputKey(
  method: string,
  params: Record<string, unknown>,
  used: Set<string>,
): string {
  const meta = params._meta as Record<string, unknown> | undefined;
  const hint = meta?.[INPUT_KEY_META];
  if (meta !== undefined && INPUT_KEY_META in meta) {
    delete meta[INPUT_KEY_META];
    if (Object.keys(meta).length === 0) delete params._meta;
  }
  let key: string;
  if (typeof hint === "string" && KEY.test(hint) && !used.has(hint)) key = hint;
  else {
    let n = 1;
    while (used.has(`${kindOf(method)}_${n}`)) n++;
    key = `${kindOf(method)}_${n}`;
  }
  used.add(key);
  return key;
}

/**
 * The client capabilities a child request needs, as a capability object
 * (`{"elicitation": {"url": {}}}`).
 *
 * @param method The child request's method.
 * @param params Its params.
 * @returns The capabilities.
 */
export function requiredCapabilities(
  method: string,
  params: Record<string, unknown>,
): Record<string, Record<string, unknown>> {
  if (method === "elicitation/create") {
    return params.mode === "url"
      ? { elicitation: { url: {} } }
      : { elicitation: {} };
  }
  if (method === "sampling/createMessage") {
    const need: Record<string, unknown> = {};
    if (params.tools !== undefined || params.toolChoice !== undefined) {
      need.tools = {};
    }
    if (
      params.includeContext !== undefined && params.includeContext !== "none"
    ) {
      need.context = {};
    }
    return { sampling: need };
  }
  return { roots: {} };
}

/**
 * The part of `need` that `declared` lacks, or undefined when nothing.
 * A bare `elicitation: {}` declares form mode; `url` must be declared.
 *
 * @param need What a request needs.
 * @param declared What the client declared for this request.
 * @returns The missing capabilities.
 */
export function missingCapabilities(
  need: Record<string, Record<string, unknown>>,
  declared: Record<string, unknown>,
): Record<string, Record<string, unknown>> | undefined {
  const missing: Record<string, Record<string, unknown>> = {};
  for (const [name, subs] of Object.entries(need)) {
    const have = declared[name];
    if (typeof have !== "object" || have === null) {
      missing[name] = subs;
      continue;
    }
    for (const sub of Object.keys(subs)) {
      if (!(sub in (have as Record<string, unknown>))) {
        (missing[name] ??= {})[sub] = {};
      }
    }
  }
  return Object.keys(missing).length === 0 ? undefined : missing;
}

/**
 * Why an answer cannot be given to the child, if it cannot.
 *
 * @param method The child request's method.
 * @param answer The client's answer.
 * @returns A reason, or undefined when it is well-formed.
 */
export function invalidAnswer(
  method: string,
  answer: unknown,
): string | undefined {
  if (typeof answer !== "object" || answer === null || Array.isArray(answer)) {
    return "an answer must be an object";
  }
  const a = answer as Record<string, unknown>;
  if (method === "elicitation/create") {
    if (!["accept", "decline", "cancel"].includes(String(a.action))) {
      return "an elicitation answer needs action accept, decline or cancel";
    }
    if (
      a.content !== undefined &&
      (typeof a.content !== "object" || a.content === null ||
        Array.isArray(a.content))
    ) return "an elicitation answer's content must be an object";
    return undefined;
  }
  if (method === "sampling/createMessage") {
    if (typeof a.model !== "string") return "a sampling answer needs a model";
    if (a.role !== "user" && a.role !== "assistant") {
      return "a sampling answer needs role user or assistant";
    }
    if (a.content === undefined) return "a sampling answer needs content";
    return undefined;
  }
  return Array.isArray(a.roots) ? undefined : "a roots answer needs roots";
}

/**
 * The answer as the child gets it: without a `resultType` the client may
 * have put in.
 *
 * @param answer A well-formed answer.
 * @returns Its JSON text.
 */
export function answerText(answer: Record<string, unknown>): string {
  const { resultType: _, ...rest } = answer;
  return JSON.stringify(rest);
}
