/**
 * The routing tables of a shared child: client ids rewritten to upstream
 * integers and restored byte for byte, progress tokens, subscriptions,
 * log levels and the child's own requests. Client messages come in through
 * {@linkcode Multiplexer.send}, child lines through
 * {@linkcode Multiplexer.fromChild}.
 *
 * @module
 */

import { type CheckedMessage, ErrorCode } from "../../jsonrpc/message.ts";
import { memberRange, replaceMember } from "../../jsonrpc/json_scan.ts";
import type { Logger } from "../../observe/log.ts";
import { levelRank, LOG_LEVELS, SessionLevels } from "./levels.ts";
import type { SharedPolicy } from "./policy.ts";
import { ServerRequests } from "./server_requests.ts";
import { Subscriptions } from "./subscriptions.ts";

/** The session side of the multiplexer (implemented by `SharedChannel`). */
export interface Downstream {
  /** For logs. */
  readonly label: string;
  /** The client's capabilities, from its initialize. */
  readonly clientCapabilities: Record<string, unknown>;
  /**
   * One request of a 2026-07-28 client, not a session: it gets its own
   * progress, and log messages only at or above `logRank` (none when
   * undefined), never the notifications meant for sessions.
   */
  readonly requestScoped: boolean;
  /** The least severe log level a request-scoped channel asked for. */
  readonly logRank: number | undefined;
  /**
   * A request-scoped channel whose interactive call (`tools/call`,
   * `prompts/get`, `resources/read`) runs now, alone on the child: the
   * child's requests to a client are its own.
   */
  readonly interactiveRunning?: boolean;
  /** Upstream ids of this session's requests in flight. */
  readonly upstream: Set<string>;
  /** Delivers a message to the client (queued, bounded). */
  push(text: string, message: CheckedMessage): void;
  /** A response for one of the session's requests (id already restored). */
  answer(key: string, text: string, message: CheckedMessage): void;
  /** An error response for one of the session's requests. */
  fail(key: string, text: string): void;
}

/** What the multiplexer writes to. */
export interface UpstreamLine {
  /** Writes one line to the child's stdin. */
  write(line: string): void;
}

/** A request written to the child and not answered yet. */
interface Upstream {
  /** The session, or undefined for the runner's own requests. */
  session: Downstream | undefined;
  /** The client's id, as written. */
  key: string;
  method: string;
  /** Runner progress token to forget with the request. */
  progress?: string;
  /** The runner's own request: what to do with the answer. */
  internal?: (text: string, message: CheckedMessage) => void;
  /** The session ended: the answer goes nowhere. */
  orphaned?: boolean;
  /** Holds the one slot of `--shared-serialize-calls`. */
  serial?: boolean;
  /** Waits for that slot: not written to the child yet. */
  queued?: boolean;
}

/** What a client message became. */
export type SendOutcome =
  | { kind: "forwarded"; upstream: string }
  | { kind: "local" }
  | { kind: "refused"; error: string };

const SERIAL_METHODS = new Set(["tools/call", "prompts/get"]);

const LIST_CHANGED = /^notifications\/(tools|prompts|resources)\/list_changed$/;

/** The routing state of one shared child (kept across its restarts). */
export class Multiplexer {
  #policy: SharedPolicy;
  #log: Logger;
  #out: UpstreamLine | undefined;
  #next = 1;
  #pending = new Map<string, Upstream>();
  #progress = new Map<string, { session: Downstream; token: string }>();
  #nextToken = 1;
  /** Resource subscriptions, counted per URI. */
  readonly subs: Subscriptions<Downstream> = new Subscriptions();
  #levels = new SessionLevels<Downstream>();
  #upstreamLevel: number | undefined;
  #server: ServerRequests;
  #sessions = new Set<Downstream>();
  #serialBusy = false;
  #serialQueue: { id: string; line: string }[] = [];
  /** Which session created each task (2025-11-25 tasks). */
  readonly tasks: Map<string, Downstream> = new Map();
  /**
   * Changes whenever the child's tool list may have changed (a
   * `tools/list_changed`, or a new process), for caches of it.
   */
  toolsVersion = 0;
  /** Messages dropped, by reason (for metrics). */
  readonly dropped = new Map<string, number>();

  /**
   * @param policy The shared-mode options.
   * @param logger Logger.
   */
  constructor(policy: SharedPolicy, logger: Logger) {
    this.#policy = policy;
    this.#log = logger;
    this.#server = new ServerRequests(policy, {
      write: (line) => this.#write(line),
      drop: (reason, what) => this.#drop(reason, what),
      sessions: () => this.#sessions,
      busy: (session) => {
        for (const id of session.upstream) {
          const entry = this.#pending.get(id);
          if (entry !== undefined && !entry.orphaned && !entry.queued) {
            return true;
          }
        }
        return false;
      },
    });
  }

  /** Requests in flight on the child, the runner's own included. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Sessions attached. */
  get sessions(): ReadonlySet<Downstream> {
    return this.#sessions;
  }

  /** A new child process: ids start again at 1. */
  attach(out: UpstreamLine): void {
    this.#out = out;
    this.#next = 1;
    this.toolsVersion++;
  }

  /** Adds a session. */
  add(session: Downstream): void {
    this.#sessions.add(session);
  }

  /**
   * Sends the runner's own request; `then` gets the answer.
   *
   * @param method The method.
   * @param params Its params.
   * @param then Called with the response.
   */
  internal(
    method: string,
    params: unknown,
    then: (text: string, message: CheckedMessage) => void,
  ): void {
    const id = String(this.#next++);
    this.#pending.set(id, {
      session: undefined,
      key: id,
      method,
      internal: then,
    });
    this.#write(
      JSON.stringify({ jsonrpc: "2.0", id: Number(id), method, params }),
    );
  }

  /** Sends a notification of the runner's own. */
  notify(method: string, params?: unknown): void {
    this.#write(JSON.stringify({ jsonrpc: "2.0", method, params }));
  }

  /**
   * Sends one client request on with its id (and progress token)
   * rewritten.
   *
   * @param session The session.
   * @param message The request, as checked.
   * @param text Its text.
   * @returns The upstream id.
   */
  request(session: Downstream, message: CheckedMessage, text: string): string {
    const id = String(this.#next++);
    let line = replaceMember(text, ["id"], id) ?? text;
    const entry: Upstream = {
      session,
      key: message.key!,
      method: message.method!,
    };
    if (message.progressToken !== undefined) {
      const path = ["params", "_meta", "progressToken"];
      const range = memberRange(line, path);
      if (range !== undefined) {
        const token = `p${this.#nextToken++}`;
        this.#progress.set(token, { session, token: line.slice(...range) });
        entry.progress = token;
        line = line.slice(0, range[0]) + JSON.stringify(token) +
          line.slice(range[1]);
      }
    }
    this.#pending.set(id, entry);
    session.upstream.add(id);
    // 2026-07-28 calls are serialized by their own interactive lane, and a
    // parked one must not hold the slot.
    if (
      this.#policy.serializeCalls && SERIAL_METHODS.has(entry.method) &&
      !session.requestScoped
    ) {
      entry.serial = true;
      if (this.#serialBusy) {
        entry.queued = true;
        this.#serialQueue.push({ id, line });
        return id;
      }
      this.#serialBusy = true;
    }
    this.#write(line);
    return id;
  }

  /**
   * Sends a client notification on: cancellations are mapped to upstream
   * ids (unknown ones dropped), `initialized` and `roots/list_changed`
   * are the runner's own business.
   */
  notification(
    message: CheckedMessage,
    text: string,
    upstreamOf: (key: string) => string | undefined,
  ): void {
    const method = message.method;
    if (
      method === "notifications/initialized" ||
      method === "notifications/roots/list_changed"
    ) return;
    if (method === "notifications/cancelled") {
      const range = memberRange(text, ["params", "requestId"]);
      const upstream = range && upstreamOf(text.slice(...range));
      if (upstream === undefined) return;
      this.#write(text.slice(0, range![0]) + upstream + text.slice(range![1]));
      return;
    }
    this.#write(text);
  }

  /** A client's answer to one of the child's requests (attribute mode). */
  response(message: CheckedMessage, text: string): void {
    this.#server.answer(message, text);
  }

  /** Sets a session's log level; resolves once the child runs at the new mix. */
  setLevel(session: Downstream, rank: number, then: () => void): void {
    this.#levels.set(session, rank);
    this.#applyLevel(then);
  }

  #applyLevel(then: () => void): void {
    const want = this.#levels.mostVerbose();
    if (want === undefined || want === this.#upstreamLevel) return then();
    this.#upstreamLevel = want;
    this.internal(
      "logging/setLevel",
      { level: LOG_LEVELS[want] },
      () => then(),
    );
  }

  /**
   * A session ended: its requests are cancelled upstream and their answers
   * dropped; its subscriptions, level and routes are released.
   */
  remove(session: Downstream): void {
    if (!this.#sessions.delete(session)) return;
    for (const id of session.upstream) {
      const entry = this.#pending.get(id);
      if (entry === undefined) continue;
      entry.orphaned = true;
      // A call still waiting for the serial slot never reached the child.
      if (entry.queued) continue;
      this.notify("notifications/cancelled", {
        requestId: Number(id),
        reason: "client disconnected",
      });
      if (entry.serial) {
        // A child that honours the cancellation never answers: the slot
        // is free now (its late answer, if any, is dropped).
        entry.serial = false;
        this.#nextSerial();
      }
    }
    session.upstream.clear();
    for (const [token, route] of this.#progress) {
      if (route.session === session) this.#progress.delete(token);
    }
    for (const uri of this.subs.release(session)) {
      this.internal("resources/unsubscribe", { uri }, () => {});
    }
    this.#server.release(session);
    for (const [task, owner] of this.tasks) {
      if (owner === session) this.tasks.delete(task);
    }
    this.#levels.delete(session);
    this.#applyLevel(() => {});
  }

  /**
   * The child exited: every request in flight is answered by `fail`, the
   * routes of the old process are forgotten (subscriptions and levels are
   * kept, to be applied to the next one).
   */
  exited(error: (key: string) => string): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#progress.clear();
    this.#server.clear();
    this.#serialQueue.length = 0;
    this.#serialBusy = false;
    this.#upstreamLevel = undefined;
    this.#out = undefined;
    for (const entry of pending) {
      if (entry.session === undefined || entry.orphaned) continue;
      entry.session.upstream.clear();
      entry.session.fail(entry.key, error(entry.key));
    }
  }

  /** After a restart: subscriptions and the log level again. */
  reapply(): void {
    for (const uri of this.subs.uris()) {
      this.internal("resources/subscribe", { uri }, () => {});
    }
    this.#applyLevel(() => {});
  }

  /**
   * Routes one child line (every entry of a batch on its own).
   *
   * @param text The line.
   * @param messages Its messages (entries with their own `text`).
   */
  fromChild(text: string, messages: CheckedMessage[]): void {
    for (const message of messages) {
      const entryText = messages.length === 1 ? text : message.text!;
      if (message.kind === "response") this.#childResponse(message, entryText);
      else if (message.kind === "notification") {
        this.#childNotification(message, entryText);
      } else this.#server.fromChild(message, entryText);
    }
  }

  /** A child message too large to deliver: its request gets an error. */
  overflow(ids: string[], error: (key: string) => string): boolean {
    for (const id of ids) {
      const entry = this.#take(id);
      if (entry?.session === undefined || entry.orphaned) continue;
      const text = error(entry.key);
      entry.session.answer(entry.key, text, {
        kind: "response",
        id: JSON.parse(entry.key),
        key: entry.key,
        method: undefined,
        errorCode: ErrorCode.ServerError,
      });
      return true;
    }
    return false;
  }

  #take(id: string): Upstream | undefined {
    const entry = this.#pending.get(id);
    if (entry === undefined) return undefined;
    this.#pending.delete(id);
    entry.session?.upstream.delete(id);
    if (entry.progress !== undefined) this.#progress.delete(entry.progress);
    if (entry.serial) this.#nextSerial();
    return entry;
  }

  /** Writes the next waiting serialized call, skipping abandoned ones. */
  #nextSerial(): void {
    while (true) {
      const next = this.#serialQueue.shift();
      if (next === undefined) {
        this.#serialBusy = false;
        return;
      }
      const entry = this.#pending.get(next.id);
      if (entry === undefined || entry.orphaned) {
        this.#pending.delete(next.id);
        continue;
      }
      entry.queued = false;
      this.#write(next.line);
      return;
    }
  }

  #childResponse(message: CheckedMessage, text: string): void {
    const entry = message.key === undefined
      ? undefined
      : this.#take(message.key);
    if (entry === undefined) {
      this.#drop(
        "unattributable",
        `a response with id ${message.key ?? "null"}`,
      );
      return;
    }
    if (entry.internal) return entry.internal(text, message);
    if (entry.orphaned || entry.session === undefined) return;
    const restored = replaceMember(text, ["id"], entry.key) ?? text;
    message.key = entry.key;
    entry.session.answer(entry.key, restored, message);
  }

  #childNotification(message: CheckedMessage, text: string): void {
    const method = message.method!;
    if (method === "notifications/progress") {
      const token = message.progressToken;
      const route = typeof token === "string"
        ? this.#progress.get(token)
        : undefined;
      if (route === undefined) return this.#drop("unattributable", method);
      const restored =
        replaceMember(text, ["params", "progressToken"], route.token) ?? text;
      route.session.push(restored, message);
      return;
    }
    if (method === "notifications/resources/updated") {
      const uri = (message.params as { uri?: unknown } | undefined)?.uri;
      const set = typeof uri === "string" ? this.subs.of(uri) : undefined;
      for (const session of set ?? []) {
        if (!session.requestScoped) session.push(text, message);
      }
      return;
    }
    if (method === "notifications/message") {
      if (this.#policy.logs === "drop") return;
      const rank = levelRank((message.params as { level?: unknown })?.level);
      for (const session of this.#sessions) {
        if (session.requestScoped) {
          const own = session.logRank;
          if (own !== undefined && rank >= own) session.push(text, message);
        } else if (this.#levels.admits(session, rank)) {
          session.push(text, message);
        }
      }
      return;
    }
    if (method === "notifications/cancelled") {
      return this.#server.cancelled(message, text);
    }
    if (method === "notifications/tasks/status") {
      const task = (message.params as { taskId?: unknown } | undefined)?.taskId;
      const owner = typeof task === "string" ? this.tasks.get(task) : undefined;
      if (owner === undefined) return this.#drop("unattributable", method);
      owner.push(text, message);
      return;
    }
    if (method === "notifications/tools/list_changed") this.toolsVersion++;
    if (!LIST_CHANGED.test(method)) {
      this.#log.debug("Shared MCP server: {method} sent to every session", {
        method,
      });
    }
    for (const session of this.#sessions) {
      if (!session.requestScoped) session.push(text, message);
    }
  }

  #drop(reason: string, what: string): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
    this.#log.debug("Shared MCP server: dropped {what} ({reason})", {
      what,
      reason,
    });
  }

  #write(line: string): void {
    this.#out?.write(line);
  }
}
