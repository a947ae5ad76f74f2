/**
 * The routes of `/status` and the web console: the page files (served
 * without a token), and the API the page calls (after the Origin, Host and
 * token checks of the request handler). State-changing calls also need
 * `Content-Type: application/json` and `X-MCP-Runner-Console: 1`, which a
 * cross-site form or image cannot send.
 *
 * @module
 */

import type { Logger } from "../observe/log.ts";
import { httpError, SSE_HEADERS } from "../http/io.ts";
import type {
  ActionResult,
  ConsoleBackend,
  ConsoleRouter,
  LogLine,
} from "./console_backend.ts";
import { CONSOLE_CSS, CONSOLE_HTML, CONSOLE_JS } from "./console_page.ts";

/** Where the console is served. */
export const CONSOLE_PATH = "/console";

/** The runner's JSON snapshot. */
export const STATUS_PATH = "/status";

/** The header every state-changing console call must carry, with value 1. */
export const CONSOLE_HEADER = "x-mcp-runner-console";

/**
 * The Content-Security-Policy of every console response. It is the policy of
 * the design (no inline script, `connect-src 'self'`, `frame-ancestors
 * 'none'`) plus `media-src data:`, without which audio results (shown only
 * as `data:` URLs of `audio/*`, like images) could not play.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; media-src data:";

/** Headers of every response of these routes. */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONSOLE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/** A keepalive comment goes down an idle log stream this often. */
export const LOG_KEEPALIVE_MS = 15_000;

/**
 * Most bytes queued for a log stream's client; one that reads slower than
 * its server writes is dropped at this point rather than queued for ever.
 */
export const LOG_QUEUE_BYTES = 4 * 1024 * 1024;

/** The page's files by path. */
const PAGES: ReadonlyMap<string, { type: string; body: string }> = new Map([
  ["/console", { type: "text/html; charset=utf-8", body: CONSOLE_HTML }],
  ["/console/", { type: "text/html; charset=utf-8", body: CONSOLE_HTML }],
  ["/console/app.js", {
    type: "text/javascript; charset=utf-8",
    body: CONSOLE_JS,
  }],
  ["/console/app.css", { type: "text/css; charset=utf-8", body: CONSOLE_CSS }],
]);

/** Options for {@linkcode ConsoleRoutes}. */
export interface ConsoleRoutesOptions {
  /** What is shown and done. */
  backend: ConsoleBackend;
  /** Whether the console is on (`--console`); `/status` is served anyway. */
  enabled: boolean;
  /** Logs dropped log-stream clients. */
  logger?: Logger | undefined;
  /**
   * How often an idle log stream gets a keepalive comment, in milliseconds.
   *
   * @default {15000}
   */
  keepaliveMs?: number;
  /**
   * Most bytes queued for one log stream's client.
   *
   * @default {4194304}
   */
  queueBytes?: number;
}

/** `/status` and, when enabled, the web console's page and API. */
export class ConsoleRoutes implements ConsoleRouter {
  #backend: ConsoleBackend;
  #enabled: boolean;
  #logger: Logger | undefined;
  #keepaliveMs: number;
  #queueBytes: number;

  /**
   * Creates the routes.
   *
   * @param options The backend, whether the console is on, and limits.
   */
  constructor(options: ConsoleRoutesOptions) {
    this.#backend = options.backend;
    this.#enabled = options.enabled;
    this.#logger = options.logger;
    this.#keepaliveMs = options.keepaliveMs ?? LOG_KEEPALIVE_MS;
    this.#queueBytes = options.queueBytes ?? LOG_QUEUE_BYTES;
  }

  /**
   * Whether `pathname` is one of the page's files (only when enabled).
   *
   * @param pathname A request path.
   * @returns True for `/console`, `/console/`, `/console/app.js` and
   *   `/console/app.css`.
   */
  isPage(pathname: string): boolean {
    return this.#enabled && PAGES.has(pathname);
  }

  /**
   * Serves a page file: GET or HEAD only.
   *
   * @param request The request.
   * @param pathname Its path, one that {@linkcode isPage} accepts.
   * @returns The file, or 404/405.
   */
  page(request: Request, pathname: string): Response {
    const file = this.#enabled ? PAGES.get(pathname) : undefined;
    if (file === undefined) return secured(notFound());
    const refused = onlyGet(request);
    if (refused) return secured(refused);
    return secured(
      new Response(request.method === "HEAD" ? null : file.body, {
        headers: { "content-type": file.type },
      }),
    );
  }

  /**
   * Whether `pathname` is served by {@linkcode api}: `/status` always, and
   * everything under `/console/` when enabled.
   *
   * @param pathname A request path.
   * @returns True when it is.
   */
  isApi(pathname: string): boolean {
    if (pathname === STATUS_PATH) return true;
    return this.#enabled && pathname.startsWith(`${CONSOLE_PATH}/`) &&
      !PAGES.has(pathname);
  }

  /**
   * Serves an API call whose Origin, Host and token were checked.
   *
   * @param request The request.
   * @param url Its parsed URL.
   * @param _principal Who the token says the caller is.
   * @returns The answer, always with the console's headers.
   */
  async api(request: Request, url: URL, _principal: string): Promise<Response> {
    return secured(await this.#route(request, url));
  }

  async #route(request: Request, url: URL): Promise<Response> {
    const path = url.pathname;
    if (
      path === STATUS_PATH || (this.#enabled && path === "/console/api/status")
    ) {
      await request.body?.cancel();
      return onlyGet(request) ?? this.#status(request);
    }
    if (!this.#enabled || !path.startsWith("/console/api/")) {
      await request.body?.cancel();
      return notFound();
    }
    if (path === "/console/api/logs") {
      await request.body?.cancel();
      return onlyGet(request) ?? this.#logs(request, url);
    }
    const action = actionOf(path.slice("/console/api/".length));
    if (action === undefined) {
      await request.body?.cancel();
      return notFound();
    }
    if (typeof action === "string") {
      await request.body?.cancel();
      return httpError(400, action);
    }
    const refused = await stateChangeRefused(request);
    if (refused) return refused;
    await request.body?.cancel();
    const backend = this.#backend;
    const result = await settle(
      action.kind === "restart"
        ? backend.restart(action.name)
        : action.kind === "end"
        ? backend.endSession(action.name)
        : backend.reload(),
    );
    return result.ok
      ? Response.json({ ok: true, detail: result.detail })
      : httpError(result.status, result.message);
  }

  #status(request: Request): Response {
    const body = request.method === "HEAD"
      ? null
      : JSON.stringify(this.#backend.status());
    return new Response(body, {
      headers: { "content-type": "application/json" },
    });
  }

  #logs(request: Request, url: URL): Response {
    const name = url.searchParams.get("server");
    if (name === null || name === "") {
      return httpError(
        400,
        "Bad Request: name the server: /console/api/logs?server=NAME",
      );
    }
    const feed = this.#backend.logs(name);
    if (feed === undefined) {
      return httpError(
        404,
        `Not Found: there is no server named "${clip(name, 100)}"`,
      );
    }
    if (request.method === "HEAD") {
      return new Response(null, { headers: { ...SSE_HEADERS } });
    }
    const encoder = new TextEncoder();
    const event = (line: LogLine) =>
      encoder.encode(`data: ${JSON.stringify(line)}\n\n`);
    let stop = () => {};
    const queueBytes = this.#queueBytes;
    const keepaliveMs = this.#keepaliveMs;
    const logger = this.#logger;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        let stopped = false;
        const timer: { keepalive?: ReturnType<typeof setInterval> } = {};
        let unsubscribe = () => {};
        stop = () => {
          if (stopped) return;
          stopped = true;
          unsubscribe();
          clearInterval(timer.keepalive);
          request.signal.removeEventListener("abort", stop);
        };
        const send = (bytes: Uint8Array) => {
          if (stopped) return;
          if ((controller.desiredSize ?? 0) < bytes.length) {
            // The client does not read: dropped, its queue discarded.
            stop();
            logger?.info(
              "Dropped a console log stream of {server}: its client reads too slowly",
              { server: clip(name, 100) },
            );
            controller.error(
              new Error("Cannot stream logs: the client reads too slowly"),
            );
            return;
          }
          controller.enqueue(bytes);
        };
        if (request.signal.aborted) {
          stop();
          controller.close();
          return;
        }
        request.signal.addEventListener("abort", stop, { once: true });
        send(encoder.encode(": console log stream\n\n"));
        for (const line of feed.lines()) send(event(line));
        if (stopped) return;
        unsubscribe = feed.subscribe((line) => send(event(line)));
        timer.keepalive = setInterval(
          () => send(encoder.encode(": keepalive\n\n")),
          keepaliveMs,
        );
      },
      cancel() {
        stop();
      },
    }, new ByteLengthQueuingStrategy({ highWaterMark: queueBytes }));
    return new Response(body, { headers: { ...SSE_HEADERS } });
  }
}

/** A parsed action path, or an error message for a malformed one. */
type Action =
  | { kind: "restart"; name: string }
  | { kind: "end"; name: string }
  | { kind: "reload" };

/**
 * The action a path under `/console/api/` names: `servers/NAME/restart`,
 * `sessions/ID/end` or `reload`.
 */
function actionOf(rest: string): Action | string | undefined {
  if (rest === "reload") return { kind: "reload" };
  const match = /^(servers|sessions)\/([^/]+)\/(restart|end)$/.exec(rest);
  if (match === null) return undefined;
  const [, collection, encoded, verb] = match;
  if ((collection === "servers") !== (verb === "restart")) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(encoded!);
  } catch {
    return `Bad Request: the ${
      collection === "servers" ? "server name" : "session id"
    } in the path is not valid percent-encoding`;
  }
  return verb === "restart" ? { kind: "restart", name } : { kind: "end", name };
}

/**
 * Refuses a state-changing call unless it is a POST with
 * `X-MCP-Runner-Console: 1` and a JSON content type.
 */
async function stateChangeRefused(
  request: Request,
): Promise<Response | undefined> {
  if (request.method !== "POST") {
    await request.body?.cancel();
    return httpError(405, "Method Not Allowed: use POST", { allow: "POST" });
  }
  if (request.headers.get(CONSOLE_HEADER)?.trim() !== "1") {
    await request.body?.cancel();
    return httpError(
      403,
      `Forbidden: console actions need the header "X-MCP-Runner-Console: 1"`,
    );
  }
  const type = (request.headers.get("content-type") ?? "").split(";")[0]!
    .trim().toLowerCase();
  if (type !== "application/json") {
    await request.body?.cancel();
    return httpError(
      415,
      `Unsupported Media Type: console actions must be application/json, received "${
        clip(type, 100)
      }"`,
    );
  }
  return undefined;
}

/** An action's result, also when the backend threw. */
async function settle(promise: Promise<ActionResult>): Promise<ActionResult> {
  try {
    return await promise;
  } catch (error) {
    return {
      ok: false,
      status: 500,
      message: `Internal Server Error: cannot do it: ${
        error instanceof Error ? error.message : String(error)
      }`,
    };
  }
}

/** 405 unless the method is GET or HEAD. */
function onlyGet(request: Request): Response | undefined {
  if (request.method === "GET" || request.method === "HEAD") return undefined;
  return httpError(405, "Method Not Allowed: use GET", { allow: "GET, HEAD" });
}

function notFound(): Response {
  return httpError(404, "Not Found: no such console path");
}

/** Adds the console's headers to a response (in place) and returns it. */
function secured(response: Response): Response {
  for (const [name, value] of Object.entries(CONSOLE_HEADERS)) {
    response.headers.set(name, value);
  }
  return response;
}

/** At most `max` characters of `text`, with an ellipsis when cut. */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
