/**
 * The child-mode part of the settings table: one child per session (and
 * pre-started ones) or one shared child, and the shared child's options.
 * Joined with the other parts in `settings.ts`.
 *
 * @module
 */

import type { Setting } from "./setting.ts";

const url = (value: string) =>
  URL.canParse(value) ? undefined : "must be a URI such as file:///srv/data";

const date = (value: string) =>
  /^\d{4}-\d{2}-\d{2}$/.test(value)
    ? undefined
    : "must be a protocol version such as 2025-11-25 (YYYY-MM-DD)";

const SHARED = { mode: "shared", when: "given" } as const;

/** Child-mode and shared-mode settings, in order. */
export const CHILD_SETTINGS = {
  childMode: {
    kind: "enum",
    flag: "child-mode",
    env: "CHILD_MODE",
    arg: "MODE",
    section: "Child processes",
    choices: ["per-session", "shared"],
    fallback: "per-session",
    help:
      "per-session: one MCP server child per session; shared: one child for every session",
    meaning:
      "`per-session`: each session gets its own child; `shared`: one child serves every session (see Shared mode)",
  },
  prewarm: {
    kind: "int",
    flag: "prewarm",
    env: "PREWARM",
    arg: "N",
    section: "Child processes",
    min: 0,
    max: 64,
    fallback: 0,
    only: { mode: "per-session", when: "changed" },
    help: "Keep N children started ahead for new sessions (per-session mode)",
    meaning:
      "Children kept started ahead, so that a new session need not wait for one; per-session mode only",
  },
  prewarmTtlSeconds: {
    kind: "int",
    flag: "prewarm-ttl-seconds",
    env: "PREWARM_TTL_SECONDS",
    arg: "N",
    section: "Child processes",
    min: 1,
    max: 7 * 86_400,
    fallback: 3600,
    help: "Replace a pre-started child idle this long",
    meaning:
      "Seconds after which a pre-started child no session took is replaced by a fresh one",
  },
  sharedStart: {
    kind: "enum",
    flag: "shared-start",
    env: "SHARED_START",
    arg: "WHEN",
    section: "Shared mode",
    choices: ["eager", "lazy"],
    fallback: "eager",
    only: SHARED,
    help:
      "eager: start the shared child with the runner; lazy: at the first session",
    meaning:
      "`eager`: the shared child starts with the runner; `lazy`: when the first session opens",
  },
  sharedProtocolVersion: {
    kind: "string",
    flag: "shared-protocol-version",
    env: "SHARED_PROTOCOL_VERSION",
    arg: "V",
    section: "Shared mode",
    fallback: "2025-11-25",
    check: date,
    values: "`YYYY-MM-DD`",
    only: SHARED,
    help: "Protocol version the runner initializes the shared child with",
    meaning:
      "MCP protocol version of the runner's own `initialize` of the shared child",
  },
  sharedClientRequests: {
    kind: "enum",
    flag: "shared-client-requests",
    env: "SHARED_CLIENT_REQUESTS",
    arg: "HOW",
    section: "Shared mode",
    choices: ["refuse", "attribute"],
    fallback: "refuse",
    only: SHARED,
    help:
      "refuse: answer the child's requests to clients with an error; attribute: pass each to the one session awaiting the child",
    meaning:
      "Requests of the shared child to a client (sampling, elicitation): `refuse` answers them with an error; `attribute` passes each to the one session with requests in flight, if it has the capability, else refuses it",
  },
  sharedSerializeCalls: {
    kind: "bool",
    flag: "shared-serialize-calls",
    env: "SHARED_SERIALIZE_CALLS",
    section: "Shared mode",
    only: SHARED,
    help: "At most one tools/call or prompts/get on the shared child at a time",
    meaning:
      "At most one `tools/call` or `prompts/get` on the shared child at a time, for a server that cannot run two at once",
  },
  sharedRoots: {
    kind: "list",
    flag: "shared-roots",
    env: "SHARED_ROOTS",
    arg: "URI",
    section: "Shared mode",
    split: true,
    check: url,
    values: "URI",
    only: SHARED,
    help:
      "A root the runner declares and lists to the shared child (repeatable)",
    meaning:
      "Roots the runner declares to the shared child and answers its `roots/list` with",
  },
  sharedLogs: {
    kind: "enum",
    flag: "shared-logs",
    env: "SHARED_LOGS",
    arg: "HOW",
    section: "Shared mode",
    choices: ["broadcast", "drop"],
    fallback: "broadcast",
    only: SHARED,
    help:
      "broadcast: the child's log messages go to every session at its level; drop: discard them",
    meaning:
      "Log notifications of the shared child: `broadcast` sends them to every session whose `logging/setLevel` admits them, `drop` discards them",
  },
  sharedOnExit: {
    kind: "enum",
    flag: "shared-on-exit",
    env: "SHARED_ON_EXIT",
    arg: "WHAT",
    section: "Shared mode",
    choices: ["restart", "end-sessions"],
    fallback: "restart",
    only: SHARED,
    help:
      "restart: start a new shared child when it exits; end-sessions: end every session",
    meaning:
      "When the shared child exits: `restart` starts a new one (sessions wait for it), `end-sessions` ends every session",
  },
  sharedRestartWaitMs: {
    kind: "int",
    flag: "shared-restart-wait-ms",
    env: "SHARED_RESTART_WAIT_MS",
    arg: "N",
    section: "Shared mode",
    min: 0,
    max: 600_000,
    fallback: 10000,
    only: SHARED,
    help: "Longest wait of a session for a starting or restarting shared child",
    meaning:
      "Milliseconds a session waits for the shared child to (re)start before it gets an error",
  },
  sharedMaxInFlight: {
    kind: "int",
    flag: "shared-max-in-flight",
    env: "SHARED_MAX_IN_FLIGHT",
    arg: "N",
    section: "Shared mode",
    min: 1,
    max: 1_000_000,
    fallback: 4096,
    only: SHARED,
    help:
      "Most unanswered requests to the shared child, every session together",
    meaning:
      "Unanswered requests to the shared child, of every session together; more get an error",
  },
} as const satisfies Record<string, Setting>;
