/**
 * One 2026-07-28 request through the shared child, across the rounds of a
 * multi round-trip request. The child's call stays in flight; when the
 * child asks the client something (`elicitation/create`,
 * `sampling/createMessage`, `roots/list`), the questions that come together
 * are answered from the request's `inputResponses` or returned as an
 * `InputRequiredResult`, and the call is parked until a retry with its
 * `requestState` brings the answers, which reach the child as ordinary
 * JSON-RPC responses.
 *
 * @module
 */

import {
  type CheckedMessage,
  ErrorCode,
  errorResponse,
} from "../../jsonrpc/message.ts";
import { replaceMember } from "../../jsonrpc/json_scan.ts";
import type { ChannelTarget } from "../../session/channel.ts";
import type { SharedChannel } from "../../session/shared/shared_channel.ts";
import {
  answerText,
  inputKey,
  invalidAnswer,
  missingCapabilities,
  requiredCapabilities,
} from "./mrtr.ts";
import { mapError, stampResult } from "./stamp.ts";
import { Answer } from "./answer.ts";

/** One HTTP exchange of a call: a request and the answer it waits for. */
export interface Round {
  /** The HTTP request (its `Accept` and abort signal). */
  request: Request;
  /** The JSON-RPC id of this round's request, as written. */
  key: string;
  /** What the client declared for this request. */
  capabilities: Record<string, unknown>;
  /** Answers the client sent with this request. */
  inputResponses: Record<string, unknown> | undefined;
}

/** What a call needs from its endpoint. */
export interface CallHost {
  /** The child's serverInfo, as JSON text. */
  serverInfo(): string;
  /** Mints the token of a parked call (and keeps the call for its retry). */
  park(call: ModernCall): Promise<string>;
  /** The call ended: forget it, release the lane if it holds it. */
  ended(call: ModernCall): void;
  /** The lane was released by a parked call. */
  releaseLane(): void;
  /** A resumed call holds the lane again (taken by the endpoint). */
  takeLane(): void;
}

/** A child request waiting for the client. */
interface Asked {
  /** The runner's id for it, as written. */
  id: string;
  method: string;
  params: Record<string, unknown>;
}

/** Quiet time after the child's last request before the client is asked. */
const QUIET_MS = 25;
/** Longest wait after the first request before the client is asked. */
const WINDOW_MS = 250;
/** How long a parked call waits for its retry. */
export const PARKED_TTL_MS = 5 * 60_000;

interface Active {
  round: Round;
  answer: Answer;
  done: boolean;
}

/** A modern request and, for interactive methods, its later rounds. */
export class ModernCall {
  /** Names the call inside its tokens. */
  readonly id: string = crypto.randomUUID();
  /** The request's method. */
  readonly method: string;
  /** A digest of its params, to bind tokens to the same request. */
  readonly digest: string;
  /** Rounds so far (a token names the round it was minted for). */
  round = 0;
  #channel!: SharedChannel;
  #host: CallHost;
  #interactive: boolean;
  #uri: string | undefined;
  #active: Active | undefined;
  #batch: Asked[] = [];
  #quiet: ReturnType<typeof setTimeout> | undefined;
  #window: ReturnType<typeof setTimeout> | undefined;
  #expiry: ReturnType<typeof setTimeout> | undefined;
  /** Questions returned to the client, by key. */
  readonly pending: Map<string, Asked> = new Map();
  #buffered: { text: string; status: number } | undefined;
  #ended = false;

  /**
   * @param host The endpoint.
   * @param method The request's method.
   * @param digest Its params digest.
   * @param interactive Whether it may take round trips (it holds the lane).
   * @param uri The resource URI of a `resources/read`.
   */
  constructor(
    host: CallHost,
    method: string,
    digest: string,
    interactive: boolean,
    uri: string | undefined,
  ) {
    this.#host = host;
    this.method = method;
    this.digest = digest;
    this.#interactive = interactive;
    this.#uri = uri;
  }

  /**
   * Starts the call: the request goes to the child on `channel`.
   *
   * @param open Opens the channel with this call's target.
   * @param round The first round.
   * @param message The request as checked.
   * @param text Its text.
   * @returns The first round's answer.
   */
  start(
    open: (target: ChannelTarget) => SharedChannel,
    round: Round,
    message: CheckedMessage,
    text: string,
  ): Promise<Response> {
    this.#channel = open({
      deliver: (out, messages) => this.#deliver(out, messages),
      unroutable: (size) =>
        this.#outcome(
          errorResponse(
            this.#active?.round.key ?? "null",
            -32603,
            `Cannot deliver response: it is ${size} bytes, over the limit`,
          ),
          200,
        ),
      ended: (end) =>
        this.#outcome(
          errorResponse(
            this.#active?.round.key ?? "null",
            -32603,
            end.reason,
            end.data,
          ),
          200,
        ),
    });
    const answer = this.#begin(round);
    const { refused } = this.#channel.forward(text, [message]);
    if (refused.length > 0) this.#outcome(refused[0]!.error, 200);
    return answer;
  }

  /**
   * The next round of a parked call: the answers it brings go to the child,
   * then the call runs on (or is parked again at once when questions are
   * left unanswered).
   *
   * @param round The retry.
   * @returns Its answer.
   */
  resume(round: Round): Promise<Response> {
    clearTimeout(this.#expiry);
    this.#host.takeLane();
    for (const [key, asked] of [...this.pending]) {
      const value = round.inputResponses?.[key];
      if (value === undefined) continue;
      this.pending.delete(key);
      this.#answerChild(asked, value as Record<string, unknown>);
    }
    // Those answers were for the questions asked before; later questions
    // go to the client, even under the same key.
    const answer = this.#begin({ ...round, inputResponses: undefined });
    if (this.#buffered !== undefined) {
      const { text, status } = this.#buffered;
      this.#outcome(replaceMember(text, ["id"], round.key) ?? text, status);
    } else if (this.pending.size > 0) void this.#park();
    return answer;
  }

  /**
   * Which pending question an answer of `inputResponses` cannot go to the
   * child, if any (checked before the call is taken).
   *
   * @param responses The retry's answers.
   * @returns A reason, or undefined.
   */
  invalidAnswers(responses: Record<string, unknown>): string | undefined {
    for (const [key, asked] of this.pending) {
      const value = responses[key];
      if (value === undefined) continue;
      const why = invalidAnswer(asked.method, value);
      if (why !== undefined) return `inputResponses.${key}: ${why}`;
    }
    return undefined;
  }

  /** Gives up on a parked call (expiry): the child is told. */
  expire(): void {
    this.#cancel("the client did not come back for its answers");
  }

  #begin(round: Round): Promise<Response> {
    this.round++;
    const active: Active = {
      round,
      answer: new Answer(round.request.headers.get("accept")),
      done: false,
    };
    this.#active = active;
    this.#channel.interactiveRunning = this.#interactive;
    round.request.signal.addEventListener("abort", () => {
      if (this.#active !== active || active.done) return;
      this.#cancel("the client closed the request");
      active.answer.finish(errorResponse(round.key, -32603, "Cancelled"), 200);
    }, { once: true });
    return active.answer.response;
  }

  #deliver(text: string, messages: CheckedMessage[]): void {
    const first = messages[0]!;
    let out = text;
    if (first.kind === "response") {
      // The child answers the first round's request; the client waits on
      // this round's id.
      const current = this.#active?.round.key;
      if (current !== undefined && current !== first.key) {
        out = replaceMember(out, ["id"], current) ?? out;
      }
      if (first.errorCode === undefined) {
        return this.#outcome(
          stampResult(out, this.method, this.#host.serverInfo()),
          200,
        );
      }
      const key = this.#active?.round.key ?? first.key ?? "null";
      const mapped = mapError(out, key, first.errorCode, this.#uri);
      return this.#outcome(mapped.text, mapped.status);
    }
    if (first.kind === "request") {
      const asked: Asked = {
        id: first.key!,
        method: first.method!,
        params: structuredClone(
          (first.params ?? {}) as Record<string, unknown>,
        ),
      };
      if (this.#active === undefined) {
        // Asked while parked: the next retry gets the question.
        const used = new Set(this.pending.keys());
        this.pending.set(inputKey(asked.method, asked.params, used), asked);
        return;
      }
      this.#batch.push(asked);
      clearTimeout(this.#quiet);
      this.#quiet = setTimeout(() => this.#flush(), QUIET_MS);
      this.#window ??= setTimeout(() => this.#flush(), WINDOW_MS);
      return;
    }
    // Progress or a log message of this call.
    const active = this.#active;
    if (active === undefined || active.done) return;
    active.answer.notify(out);
  }

  /** The collection window ended: ask the client, or answer from what it sent. */
  #flush(): void {
    clearTimeout(this.#quiet);
    clearTimeout(this.#window);
    this.#quiet = this.#window = undefined;
    const active = this.#active;
    const batch = this.#batch.splice(0);
    if (active === undefined || batch.length === 0) return;
    let missing: Record<string, Record<string, unknown>> | undefined;
    for (const asked of batch) {
      const lacks = missingCapabilities(
        requiredCapabilities(asked.method, asked.params),
        active.round.capabilities,
      );
      if (lacks !== undefined) missing = { ...missing, ...lacks };
    }
    if (missing !== undefined) {
      for (const asked of batch) {
        this.#errorChild(
          asked,
          `Cannot ask the client: it did not declare ${
            Object.keys(missing).join(", ")
          } for this request`,
        );
      }
      const error = errorResponse(
        active.round.key,
        -32021,
        "Missing required client capability",
        { requiredCapabilities: missing },
      );
      this.#outcome(error, 400);
      return;
    }
    // Keys are unique among the questions of one round.
    const used = new Set(this.pending.keys());
    for (const asked of batch) {
      const key = inputKey(asked.method, asked.params, used);
      const given = active.round.inputResponses?.[key];
      if (
        given !== undefined && invalidAnswer(asked.method, given) === undefined
      ) {
        this.#answerChild(asked, given as Record<string, unknown>);
      } else this.pending.set(key, asked);
    }
    if (this.pending.size > 0) void this.#park();
  }

  /** Returns the pending questions; the call waits for its retry. */
  async #park(): Promise<void> {
    const active = this.#active;
    if (active === undefined || active.done) return;
    this.#active = undefined;
    active.done = true;
    this.#channel.interactiveRunning = false;
    this.#host.releaseLane();
    const token = await this.#host.park(this);
    const inputRequests: Record<string, unknown> = {};
    for (const [key, asked] of this.pending) {
      inputRequests[key] = { method: asked.method, params: asked.params };
    }
    const result = JSON.stringify({
      resultType: "input_required",
      inputRequests,
      requestState: token,
    });
    const withInfo = `${
      result.slice(0, -1)
    },"_meta":{"io.modelcontextprotocol/serverInfo":${this.#host.serverInfo()}}}`;
    active.answer.finish(
      `{"jsonrpc":"2.0","id":${active.round.key},"result":${withInfo}}`,
      200,
    );
    clearTimeout(this.#expiry);
    this.#expiry = setTimeout(() => this.expire(), PARKED_TTL_MS);
  }

  /** The call's final answer, to the running round or kept for the retry. */
  #outcome(text: string, status: number): void {
    const active = this.#active;
    if (active === undefined || active.done) {
      if (!this.#ended) this.#buffered = { text, status };
      return;
    }
    active.done = true;
    active.answer.finish(text, status);
    this.#end();
  }

  #cancel(why: string): void {
    for (const asked of [...this.pending.values(), ...this.#batch.splice(0)]) {
      if (asked.method === "elicitation/create") {
        this.#answerChild(asked, { action: "cancel" });
      } else this.#errorChild(asked, `Cannot answer: ${why}`);
    }
    this.pending.clear();
    this.#end();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#quiet);
    clearTimeout(this.#window);
    clearTimeout(this.#expiry);
    this.#channel.interactiveRunning = false;
    void this.#channel.close("answered");
    this.#host.ended(this);
  }

  #answerChild(asked: Asked, value: Record<string, unknown>): void {
    this.#toChild(
      asked,
      `{"jsonrpc":"2.0","id":${asked.id},"result":${answerText(value)}}`,
    );
  }

  #errorChild(asked: Asked, message: string): void {
    this.#toChild(
      asked,
      errorResponse(asked.id, ErrorCode.MethodNotFound, message),
    );
  }

  #toChild(asked: Asked, text: string): void {
    this.#channel.forward(text, [{
      kind: "response",
      id: JSON.parse(asked.id),
      key: asked.id,
      method: undefined,
    }]);
  }
}
