/**
 * The legacy HTTP+SSE transport (MCP revision 2024-11-05): `GET /sse` opens
 * a stream whose first event names the POST endpoint; messages POSTed there
 * are answered with 202 and the replies arrive on the stream. The session
 * ends when the stream closes; with a child of its own, that child stops.
 *
 * @module
 */

import type { Logger } from "../../observe/log.ts";
import type {
  Channel,
  ChildProvider,
  SessionLimits,
} from "../../session/channel.ts";
import type { BodyBudget } from "../../http/body_budget.ts";
import {
  accepts,
  cannotStart,
  httpError,
  readMessage,
  SSE_HEADERS,
} from "../../http/io.ts";
import type { SessionAdmission } from "../../session/session_set.ts";
import type { Metrics } from "../../observe/metrics.ts";
import { SseStream } from "../sse_stream.ts";
import type { CheckedMessage } from "../../jsonrpc/message.ts";
import { ClientFacts } from "../../session/client_facts.ts";
import type { SessionDetails } from "../../session/session_set.ts";
import { newSessionId, sessionHandle } from "../../session/session_id.ts";

/** Options for {@linkcode LegacySseEndpoint}. */
export interface LegacySseOptions extends SessionLimits {
  /** Gives each session its channel to an MCP server. */
  provider: ChildProvider;
  /** Every live session. */
  sessions: SessionAdmission;
  /** Logger. */
  logger: Logger;
  /** Where counts and latencies go. */
  metrics?: Metrics | undefined;
  /** Shared by every request body being read. */
  bodyBudget?: BodyBudget | undefined;
  /**
   * The path the `endpoint` event announces (a named server's has its
   * prefix).
   *
   * @default {LEGACY_MESSAGE_PATH}
   */
  messagePath?: string | undefined;
}

/** The path clients POST to. */
export const LEGACY_MESSAGE_PATH = "/message";

/** One legacy SSE session. */
class LegacySseSession {
  #facts = new ClientFacts();

  /**
   * The client, protocol version and load, for `/status`.
   *
   * @returns The details.
   */
  describe(): SessionDetails {
    return this.#facts.details(this.#channel);
  }

  /** Notes the client's `initialize`, until it has been seen. */
  noteClient(messages: CheckedMessage[]): void {
    if (!this.#facts.done) this.#facts.note(messages);
  }

  readonly id: string;
  readonly handle: string;
  readonly transport = "sse";
  readonly done: Promise<void>;
  readonly stream: SseStream;
  principal = "anonymous";
  #channel!: Channel;
  #ended = false;
  #resolveDone: () => void;
  #log: Logger;

  constructor(id: string, log: Logger, highWaterBytes: number) {
    this.id = id;
    this.handle = sessionHandle(id);
    this.#log = log;
    const done = Promise.withResolvers<void>();
    this.done = done.promise;
    this.#resolveDone = done.resolve;
    this.stream = new SseStream({
      highWaterBytes,
      onDisconnect: () => void this.end("Client closed the stream"),
    });
  }

  static start(
    id: string,
    options: LegacySseOptions,
    remote: string,
  ): LegacySseSession {
    const session = new LegacySseSession(
      id,
      options.logger,
      options.sendBufferBytes,
    );
    session.#channel = options.provider.open({
      session: session.handle,
      transport: "sse",
      remote,
      metrics: options.metrics,
      logger: options.logger,
    }, {
      deliver: (text) =>
        session.stream.send(text, "message", options.sendTimeoutMs),
      unroutable: (size) =>
        options.logger.warning(
          "Session {session}: dropped a message of {size} bytes from the MCP server (no request to answer)",
          { session: session.handle, size },
        ),
      ended: (end) => void session.end(end.reason, end.data),
    });
    return session;
  }

  get ended(): boolean {
    return this.#ended;
  }

  get channel(): Channel {
    return this.#channel;
  }

  async end(reason: string, data?: unknown): Promise<void> {
    if (this.#ended) return await this.done;
    this.#ended = true;
    const unanswered = this.#channel.failPending(
      reason,
      data,
      (_key, response) => {
        void this.stream.send(response);
      },
    );
    this.#log.info(
      "Session {session} ended: {reason}; {pending} requests unanswered",
      {
        session: this.handle,
        reason,
        pending: unanswered,
      },
    );
    this.stream.complete();
    await this.#channel.close(reason);
    this.#resolveDone();
  }

  shutdown(): Promise<void> {
    return this.end("Runner is shutting down");
  }

  killNow(): void {
    this.#channel.killNow();
  }
}

/** Serves `GET /sse` and `POST /message`. */
export class LegacySseEndpoint {
  #options: LegacySseOptions;
  #sessions = new Map<string, LegacySseSession>();

  /**
   * Creates the endpoint.
   *
   * @param options Program, limits and the session registry.
   */
  constructor(options: LegacySseOptions) {
    this.#options = options;
  }

  /**
   * Opens a stream and its session.
   *
   * @param request The GET request.
   * @param remote The client's address, for the access log.
   * @param principal Who the request authenticated as.
   * @returns The SSE response, whose first event is `endpoint`.
   */
  async open(
    request: Request,
    remote = "unknown",
    principal = "anonymous",
  ): Promise<Response> {
    const options = this.#options;
    if (request.method !== "GET") {
      return httpError(405, "Method Not Allowed: open the stream with GET", {
        allow: "GET, OPTIONS",
      });
    }
    if (!accepts(request.headers.get("accept"), "text/event-stream")) {
      return httpError(406, "Not Acceptable: /sse is text/event-stream");
    }
    const refused = options.sessions.refusal();
    if (refused) return refused;
    const available = await options.provider.whenAvailable();
    if (!available.ok) {
      return httpError(503, `Service Unavailable: ${available.reason}`, {
        "retry-after": String(available.retryAfterSeconds),
      });
    }
    const id = newSessionId();
    let session: LegacySseSession;
    try {
      session = LegacySseSession.start(id, options, remote);
    } catch (error) {
      return cannotStart(error);
    }
    session.principal = principal;
    this.#sessions.set(id, session);
    options.sessions.add(session);
    session.done.then(() => this.#sessions.delete(id));
    const body = session.stream.connect();
    void session.stream.send(
      `${options.messagePath ?? LEGACY_MESSAGE_PATH}?sessionId=${
        encodeURIComponent(id)
      }`,
      "endpoint",
    );
    return new Response(body, { headers: SSE_HEADERS });
  }

  /**
   * Whether a session with this id is live here.
   *
   * @param id The `sessionId` of the message URL.
   * @returns Whether it is.
   */
  hasSession(id: string): boolean {
    return this.#sessions.has(id);
  }

  /**
   * Takes a message for a session.
   *
   * @param request The POST request.
   * @param principal Who the request authenticated as; a session answers
   *   only the principal that opened it.
   * @returns 202, or an error.
   */
  async message(request: Request, principal = "anonymous"): Promise<Response> {
    if (request.method !== "POST") {
      return httpError(405, "Method Not Allowed: POST messages here", {
        allow: "POST, OPTIONS",
      });
    }
    const id = new URL(request.url).searchParams.get("sessionId");
    if (!id) {
      await request.body?.cancel();
      return httpError(
        400,
        "Bad Request: the sessionId query parameter is required",
      );
    }
    const session = this.#sessions.get(id);
    if (!session || session.ended || session.principal !== principal) {
      await request.body?.cancel();
      return httpError(
        404,
        "Not Found: unknown or closed session; open /sse again",
        {},
        -32001,
      );
    }
    if (session.stream.congested) {
      // The client does not read its stream: what this message would make
      // (answers, errors) would only pile up.
      await request.body?.cancel();
      return httpError(
        503,
        "Service Unavailable: the client is not reading its event stream; retry later",
        { "retry-after": "1" },
      );
    }
    const check = await readMessage(request, {
      maxBytes: this.#options.maxMessageBytes,
      budget: this.#options.bodyBudget,
      metrics: this.#options.metrics,
    });
    if (check instanceof Response) return check;
    if (session.channel.backlogged) {
      return httpError(
        503,
        "Service Unavailable: the MCP server is not reading its input; retry later",
        {
          "retry-after": "1",
        },
      );
    }
    // Errors the runner makes go to the stream like the child's messages;
    // at most one message's worth waits beyond the mark (see above).
    for (const error of check.errors) void session.stream.send(error);
    session.noteClient(check.messages);
    const { refused } = session.channel.forward(check.text, check.messages);
    for (const { error } of refused) void session.stream.send(error);
    return accepted();
  }
}

function accepted(): Response {
  return new Response("Accepted", {
    status: 202,
    headers: { "content-type": "text/plain" },
  });
}
