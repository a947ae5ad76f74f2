/**
 * Counters and a latency histogram, rendered in the Prometheus text format
 * for `GET /metrics`.
 *
 * @module
 */

/** Why a connection or message was refused. */
export type RefusalReason =
  | "auth"
  | "origin"
  | "capacity"
  | "size"
  | "stopping";

/** Upper bounds of the round-trip histogram, in seconds. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
];

class Counter {
  #values = new Map<string, number>();

  add(label: string, by = 1): void {
    this.#values.set(label, (this.#values.get(label) ?? 0) + by);
  }

  get(label: string): number {
    return this.#values.get(label) ?? 0;
  }

  entries(): [string, number][] {
    return [...this.#values.entries()].sort(([a], [b]) => a.localeCompare(b));
  }
}

/** The runner's metrics. One instance per runner. */
/** One metric family another part of the runner reports (see `register`). */
export interface MetricFamily {
  /** The metric's name. */
  name: string;
  /** `gauge` or `counter`. */
  type: "gauge" | "counter";
  /** Its help text. */
  help: string;
  /** Rows: labels (`{state="ready"}` or "") and value. */
  rows: [string, number][];
}

/** The runner's counters, gauges and latency histogram. */
export class Metrics {
  #labelText: string;
  #sources: (() => MetricFamily[])[] = [];
  #sessions = new Counter();
  #messagesIn = new Counter();
  #messagesOut = new Counter();
  #bytesIn = new Counter();
  #bytesOut = new Counter();
  #spawns = new Counter();
  #exits = new Counter();
  #refused = new Counter();
  #evicted = new Counter();
  #buckets = new Map<string, number[]>();
  #sum = new Counter();
  #count = new Counter();

  /**
   * Creates empty metrics.
   *
   * @param labels Labels every sample gets, such as `{ server: "github" }`.
   */
  constructor(labels: Record<string, string> = {}) {
    this.#labelText = Object.entries(labels).map(([k, v]) =>
      `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`
    ).join(",");
  }

  /**
   * Adds metrics computed when `/metrics` is read (a shared child's state).
   *
   * @param source Returns the families, at every render.
   */
  register(source: () => MetricFamily[]): void {
    this.#sources.push(source);
  }

  /** Counts a session that started. */
  sessionStarted(transport: string): void {
    this.#sessions.add(transport);
  }

  /** Counts messages from a client to a child. */
  clientToChild(transport: string, messages: number, bytes: number): void {
    this.#messagesIn.add(transport, messages);
    this.#bytesIn.add(transport, bytes);
  }

  /** Counts messages from a child to a client. */
  childToClient(transport: string, messages: number, bytes: number): void {
    this.#messagesOut.add(transport, messages);
    this.#bytesOut.add(transport, bytes);
  }

  /** Counts a child spawn: `ok` or `failed`. */
  childSpawned(result: "ok" | "failed"): void {
    this.#spawns.add(result);
  }

  /** Counts a child exit by its code (or signal). */
  childExited(status: Deno.CommandStatus): void {
    this.#exits.add(
      status.signal ? `signal:${status.signal}` : String(status.code),
    );
  }

  /** Counts a refusal. */
  refused(reason: RefusalReason): void {
    this.#refused.add(reason);
  }

  /** Counts an idle session ended to admit a new one. */
  sessionEvicted(transport: string): void {
    this.#evicted.add(transport);
  }

  /** Records a request's round trip through the runner, in milliseconds. */
  observeLatency(transport: string, ms: number): void {
    const seconds = ms / 1000;
    let buckets = this.#buckets.get(transport);
    if (!buckets) {
      buckets = new Array(LATENCY_BUCKETS.length).fill(0);
      this.#buckets.set(transport, buckets);
    }
    for (const [i, bound] of LATENCY_BUCKETS.entries()) {
      if (seconds <= bound) buckets[i]!++;
    }
    this.#sum.add(transport, seconds);
    this.#count.add(transport);
  }

  /**
   * Renders every metric in the Prometheus text exposition format.
   *
   * @param active Live sessions per transport.
   * @returns The text.
   */
  render(active: Record<string, number>): string {
    return Metrics.renderAll([{ metrics: this, active }]);
  }

  /**
   * Renders the metrics of several servers as one text: each family once,
   * with the rows of every server (each labelled with its `server`).
   *
   * @param parts Each server's metrics and live sessions per transport.
   * @returns The text.
   */
  static renderAll(
    parts: { metrics: Metrics; active: Record<string, number> }[],
  ): string {
    const families = new Map<string, { head: string[]; samples: string[] }>();
    for (const { metrics, active } of parts) {
      for (const family of metrics.#families(active)) {
        let merged = families.get(family.name);
        if (merged === undefined) {
          merged = { head: family.head, samples: [] };
          families.set(family.name, merged);
        }
        merged.samples.push(...family.samples);
      }
    }
    const lines: string[] = [];
    for (const { head, samples } of families.values()) {
      lines.push(...head, ...samples);
    }
    return lines.join("\n") + "\n";
  }

  /** Every family, its sample lines labelled with this instance's labels. */
  #families(
    active: Record<string, number>,
  ): { name: string; head: string[]; samples: string[] }[] {
    const out: { name: string; head: string[]; samples: string[] }[] = [];
    const extra = this.#labelText;
    const label = (labels: string) =>
      extra === ""
        ? labels
        : labels === ""
        ? `{${extra}}`
        : `{${extra},${labels.slice(1)}`;
    const family = (
      name: string,
      type: string,
      help: string,
      rows: [string, number][],
    ) => {
      out.push({
        name,
        head: [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`],
        samples: rows.map(([labels, value]) =>
          `${name}${label(labels)} ${value}`
        ),
      });
    };
    const by = (label: string, counter: Counter) =>
      counter.entries().map(([k, v]) =>
        [`{${label}="${k}"}`, v] as [string, number]
      );
    family(
      "mcp_runner_sessions_active",
      "gauge",
      "Live sessions by transport",
      Object.entries(active).map(([k, v]) => [`{transport="${k}"}`, v]),
    );
    family(
      "mcp_runner_sessions_total",
      "counter",
      "Sessions started by transport",
      by("transport", this.#sessions),
    );
    family(
      "mcp_runner_messages_total",
      "counter",
      "JSON-RPC messages by direction and transport",
      [
        ...this.#messagesIn.entries().map(([k, v]) =>
          [`{direction="client_to_server",transport="${k}"}`, v] as [
            string,
            number,
          ]
        ),
        ...this.#messagesOut.entries().map(([k, v]) =>
          [`{direction="server_to_client",transport="${k}"}`, v] as [
            string,
            number,
          ]
        ),
      ],
    );
    family(
      "mcp_runner_bytes_total",
      "counter",
      "Message bytes by direction and transport",
      [
        ...this.#bytesIn.entries().map(([k, v]) =>
          [`{direction="client_to_server",transport="${k}"}`, v] as [
            string,
            number,
          ]
        ),
        ...this.#bytesOut.entries().map(([k, v]) =>
          [`{direction="server_to_client",transport="${k}"}`, v] as [
            string,
            number,
          ]
        ),
      ],
    );
    family(
      "mcp_runner_child_spawns_total",
      "counter",
      "MCP server processes started",
      by("result", this.#spawns),
    );
    family(
      "mcp_runner_child_exits_total",
      "counter",
      "MCP server exits by code",
      by("code", this.#exits),
    );
    family(
      "mcp_runner_refused_total",
      "counter",
      "Refused connections and messages by reason",
      by("reason", this.#refused),
    );
    family(
      "mcp_runner_sessions_evicted_total",
      "counter",
      "Idle sessions ended to admit a new one at --max-sessions",
      by("transport", this.#evicted),
    );
    for (const source of this.#sources) {
      for (const f of source()) family(f.name, f.type, f.help, f.rows);
    }
    const histogram = "mcp_runner_request_duration_seconds";
    const lines: string[] = [];
    out.push({
      name: histogram,
      head: [
        `# HELP ${histogram} Request round trip through the runner`,
        `# TYPE ${histogram} histogram`,
      ],
      samples: lines,
    });
    for (
      const [transport, buckets] of [...this.#buckets.entries()].sort((
        [a],
        [b],
      ) => a.localeCompare(b))
    ) {
      for (const [i, bound] of LATENCY_BUCKETS.entries()) {
        lines.push(
          `${histogram}_bucket${
            label(`{transport="${transport}",le="${bound}"}`)
          } ${buckets[i]}`,
        );
      }
      const count = this.#count.get(transport);
      lines.push(
        `${histogram}_bucket${
          label(`{transport="${transport}",le="+Inf"}`)
        } ${count}`,
        `${histogram}_sum${label(`{transport="${transport}"}`)} ${
          this.#sum.get(transport)
        }`,
        `${histogram}_count${label(`{transport="${transport}"}`)} ${count}`,
      );
    }
    return out;
  }
}
