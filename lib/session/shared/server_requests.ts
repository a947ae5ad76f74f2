/**
 * The shared child's own requests to clients: `ping` and `roots/list` are
 * answered by the runner; sampling, elicitation and the rest are refused at
 * once, or (`--shared-client-requests attribute`) sent to the one session
 * they can be for, under a runner id, and that session's answer goes back
 * with the child's id.
 *
 * @module
 */

import {
  type CheckedMessage,
  ErrorCode,
  errorResponse,
} from "../../jsonrpc/message.ts";
import { memberRange, replaceMember } from "../../jsonrpc/json_scan.ts";
import type { Downstream } from "./multiplexer.ts";
import { clientRequestsRefusal, type SharedPolicy } from "./policy.ts";

/** What the routing of child requests needs from the multiplexer. */
export interface ServerRequestHost {
  /** Writes one line to the child. */
  write(line: string): void;
  /** Counts a dropped or refused message. */
  drop(reason: string, what: string): void;
  /** Every session. */
  sessions(): Iterable<Downstream>;
  /** Whether a session has a request in flight that is not abandoned. */
  busy(session: Downstream): boolean;
}

/** The client capability a child request needs. */
const CAPABILITY_OF: Record<string, string> = {
  "sampling/createMessage": "sampling",
  "elicitation/create": "elicitation",
  "roots/list": "roots",
};

/** Routes of the child's requests to clients. */
export class ServerRequests {
  #policy: SharedPolicy;
  #host: ServerRequestHost;
  #routes = new Map<string, { childKey: string; session: Downstream }>();
  #next = 1;

  /**
   * @param policy The shared options.
   * @param host The multiplexer.
   */
  constructor(policy: SharedPolicy, host: ServerRequestHost) {
    this.#policy = policy;
    this.#host = host;
  }

  /** A request from the child. */
  fromChild(message: CheckedMessage, text: string): void {
    const key = message.key!;
    const method = message.method!;
    if (method === "ping") {
      return this.#host.write(`{"jsonrpc":"2.0","id":${key},"result":{}}`);
    }
    if (method === "roots/list" && this.#policy.roots.length > 0) {
      const roots = this.#policy.roots.map((uri) => ({ uri }));
      return this.#host.write(
        `{"jsonrpc":"2.0","id":${key},"result":${JSON.stringify({ roots })}}`,
      );
    }
    const target = this.#attributable(method);
    if (target === undefined) {
      this.#host.drop("refused-server-request", method);
      return this.#host.write(errorResponse(
        key,
        ErrorCode.MethodNotFound,
        clientRequestsRefusal(method, this.#policy),
      ));
    }
    const id = JSON.stringify(`s${this.#next++}`);
    this.#routes.set(id, { childKey: key, session: target });
    message.key = id;
    target.push(replaceMember(text, ["id"], id) ?? text, message);
  }

  /** A client's answer: back to the child with the child's id. */
  answer(message: CheckedMessage, text: string): void {
    const route = message.key && this.#routes.get(message.key);
    if (!route) return;
    this.#routes.delete(message.key!);
    this.#host.write(replaceMember(text, ["id"], route.childKey) ?? text);
  }

  /** The child cancels one of its requests: the session is told. */
  cancelled(message: CheckedMessage, text: string): void {
    const range = memberRange(text, ["params", "requestId"]);
    if (range === undefined) return;
    const childKey = text.slice(...range);
    for (const [id, route] of this.#routes) {
      if (route.childKey !== childKey) continue;
      this.#routes.delete(id);
      route.session.push(
        text.slice(0, range[0]) + id + text.slice(range[1]),
        message,
      );
    }
  }

  /** A session ended: the child's requests to it are answered with errors. */
  release(session: Downstream): void {
    for (const [id, route] of this.#routes) {
      if (route.session !== session) continue;
      this.#routes.delete(id);
      this.#host.write(errorResponse(
        route.childKey,
        ErrorCode.ServerError,
        "Cannot answer: the client that received this request disconnected",
      ));
    }
  }

  /** The child exited: its requests died with it. */
  clear(): void {
    this.#routes.clear();
  }

  /** The one session a child request can be for, in attribute mode. */
  #attributable(method: string): Downstream | undefined {
    const capability = CAPABILITY_OF[method];
    if (capability === undefined) return undefined;
    const attribute = this.#policy.clientRequests === "attribute";
    let found: Downstream | undefined;
    for (const session of this.#host.sessions()) {
      // A 2026-07-28 call running alone on the child (the interactive
      // lane) owns the child's requests; it checks the capabilities its
      // request declared itself.
      const candidate = session.requestScoped
        ? session.interactiveRunning === true
        : attribute && this.#host.busy(session);
      if (!candidate) continue;
      if (found !== undefined) return undefined;
      found = session;
    }
    if (found === undefined || found.requestScoped) return found;
    return found.clientCapabilities[capability] === undefined
      ? undefined
      : found;
  }
}
