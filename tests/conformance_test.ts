/**
 * Runs the official MCP conformance suite (`@modelcontextprotocol/conformance`,
 * server mode) against the runner's Streamable HTTP endpoint, with the
 * project's hand-written fixture `tests/fixtures/conformance_server.ts` as the
 * stdio child. Three pinned runs: 0.1.16 `--suite all` and
 * 0.2.0-alpha.12 `--requirements 2025-11-25`, each with a child per session
 * and with one shared child, and 0.2.0-alpha.12 `--requirements 2026-07-28`
 * (a stateless 2026-07-28 client, which the runner serves by translating
 * onto the legacy fixture) with a child per session.
 *
 * Each suite runs as a `deno run` subprocess in a temporary directory, without
 * the project's configuration or lock file, and is killed if it runs too long.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  processesMatching,
  type RunningRunner,
  startRunner,
} from "./_helpers.ts";

/** The stdio MCP server that implements every fixture the suite calls. */
const FIXTURE_PATH = new URL(
  "./fixtures/conformance_server.ts",
  import.meta.url,
).pathname;

/** Matches the fixture children (and the runner, whose arguments name it). */
const NEEDLE = "conformance_server.ts";

/** Longest a suite run may take before it is killed. */
const SUITE_TIMEOUT_MS = 240_000;

/** One pinned conformance suite run. */
interface Suite {
  /** The npm specifier of the conformance package. */
  pkg: string;
  /** Arguments that select the scenarios. */
  select: string[];
  /**
   * Fewest passing checks expected in the scenarios that must pass (today's
   * count against this runner).
   */
  minPassed: number;
  /**
   * Scenarios that run but are not required to pass, by name; every other
   * scenario must pass with no FAILURE or WARNING check. None if absent.
   */
  unscored?: RegExp;
  /** The child modes to run the suite in (names of `MODES`); all if absent. */
  modes?: string[];
}

const SUITES: Suite[] = [
  {
    pkg: "npm:@modelcontextprotocol/conformance@0.1.16",
    select: ["--suite", "all"],
    minPassed: 46,
  },
  {
    pkg: "npm:@modelcontextprotocol/conformance@0.2.0-alpha.12",
    select: ["--requirements", "2025-11-25"],
    minPassed: 83,
  },
  {
    pkg: "npm:@modelcontextprotocol/conformance@0.2.0-alpha.12",
    select: ["--requirements", "2026-07-28"],
    // 37 scored scenarios plus the not-scored json-schema-2020-12,
    // http-header-validation and http-custom-header-server-validation,
    // which pass too and are held to it.
    minPassed: 152,
    // The ten tasks-* scenarios test the io.modelcontextprotocol/tasks
    // extension (SEP-2663). requirements/2026-07-28.yaml lists them under
    // not_scored (reason: extension), so the suite's exit code ignores
    // them; a legacy child cannot offer that extension (2025-11-25 tasks
    // are a different wire) and the runner does not emulate it, so they
    // fail. Only they are excused.
    unscored: /^tasks-/,
    // Per-session only. The shared mode below adds
    // `--shared-serialize-calls`, under which one unanswered tools/call
    // holds back every later one: the calls the suite leaves parked (an
    // InputRequiredResult never retried) stay open at the child, and a
    // call the runner cancels is never answered by a child that honours
    // the cancellation, so its slot is not freed.
    modes: ["per-session"],
  },
];

/** What a suite run printed and how it ended. */
interface SuiteRun {
  code: number;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/**
 * Runs one suite against `url`, writing its results to `outDir`.
 *
 * @param suite The suite.
 * @param url The runner's `/mcp` URL.
 * @param cwd A scratch working directory.
 * @param outDir The results directory.
 * @returns The output and exit status.
 */
async function runSuite(
  suite: Suite,
  url: string,
  cwd: string,
  outDir: string,
): Promise<SuiteRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-config",
      "--no-lock",
      suite.pkg,
      "server",
      "--url",
      url,
      ...suite.select,
      "-o",
      outDir,
    ],
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }, SUITE_TIMEOUT_MS);
  try {
    const { code, stdout, stderr } = await child.output();
    const decoder = new TextDecoder();
    return {
      code,
      timedOut,
      stdout: decoder.decode(stdout),
      stderr: decoder.decode(stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** One check of a scenario's `checks.json`. */
interface Check {
  id?: string;
  name?: string;
  description?: string;
  status?: string;
  errorMessage?: string;
  details?: unknown;
}

/**
 * Every check with status FAILURE or WARNING in the `*.json` result files
 * under `dir`, one line each, plus the number of result files read.
 *
 * @param dir The results directory.
 * @returns The problem lines and the file count.
 */
async function badChecks(
  dir: string,
): Promise<{ problems: string[]; files: number }> {
  const problems: string[] = [];
  let files = 0;
  const walk = async (path: string, label: string): Promise<void> => {
    for await (const entry of Deno.readDir(path)) {
      const full = join(path, entry.name);
      if (entry.isDirectory) {
        await walk(full, label === "" ? entry.name : `${label}/${entry.name}`);
        continue;
      }
      if (!entry.isFile || !entry.name.endsWith(".json")) continue;
      files++;
      let checks: unknown;
      try {
        checks = JSON.parse(await Deno.readTextFile(full));
      } catch (error) {
        problems.push(`${label}/${entry.name}: unreadable: ${error}`);
        continue;
      }
      if (!Array.isArray(checks)) continue;
      for (const check of checks as Check[]) {
        if (check.status !== "FAILURE" && check.status !== "WARNING") continue;
        const why = check.errorMessage ?? JSON.stringify(check.details) ??
          check.description ?? "";
        problems.push(
          `${label}: ${check.status} ${check.id ?? check.name ?? "?"}: ${why}`,
        );
      }
    }
  };
  await walk(dir, "");
  return { problems, files };
}

/** The per-scenario summary lines (`✓ name: N passed, M failed`). */
function scenarioLines(stdout: string): string[] {
  return stdout.split("\n").filter((line) =>
    /^\s*[✓✗]\s.*\d+ passed, \d+ failed/.test(line)
  );
}

/** One scenario's summary line, parsed. */
interface ScenarioSummary {
  name: string;
  ok: boolean;
  passed: number;
  failed: number;
}

/** The per-scenario summaries of the output. */
function scenarios(stdout: string): ScenarioSummary[] {
  const found: ScenarioSummary[] = [];
  for (const line of scenarioLines(stdout)) {
    const match = /^\s*([✓✗])\s+(\S+): (\d+) passed, (\d+) failed/.exec(line);
    if (!match) continue;
    found.push({
      name: match[2]!,
      ok: match[1] === "✓",
      passed: Number(match[3]),
      failed: Number(match[4]),
    });
  }
  return found;
}

/**
 * The scenario a result directory belongs to: the suite names them
 * `server-<scenario>-<ISO timestamp>`.
 */
function scenarioOfLabel(label: string): string {
  const top = label.split("/")[0] ?? label;
  return top.replace(/^server-/, "").replace(
    /-\d{4}-\d{2}-\d{2}T[\d-]+Z$/,
    "",
  );
}

/** The last `Total: N passed, M failed` of the output, if any. */
function totals(stdout: string): { passed: number; failed: number } | null {
  const all = [...stdout.matchAll(/^Total: (\d+) passed, (\d+) failed/gm)];
  const last = all.at(-1);
  if (!last) return null;
  return { passed: Number(last[1]), failed: Number(last[2]) };
}

/** The last `lines` lines of `text`. */
function tail(text: string, lines = 40): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/**
 * The child modes the suites run in: one child per session, and one shared
 * child whose requests to clients (sampling, elicitation) go to the one
 * session with a call running (serialized, so there is always exactly one).
 */
const MODES: { name: string; flags: string[] }[] = [
  { name: "per-session", flags: [] },
  {
    name: "shared",
    flags: [
      "--child-mode",
      "shared",
      "--shared-client-requests",
      "attribute",
      "--shared-serialize-calls",
    ],
  },
];

for (const suite of SUITES) {
  for (const mode of MODES) {
    if (suite.modes !== undefined && !suite.modes.includes(mode.name)) {
      continue;
    }
    Deno.test(`conformance ${suite.pkg} ${suite.select.join(" ")}, ${mode.name} child: every check passes through the runner`, async () => {
      const before = new Set(processesMatching(NEEDLE));
      const scratch = await Deno.makeTempDir({ prefix: "mcp-conformance-" });
      try {
        const outDir = join(scratch, "results");
        let run: SuiteRun;
        let runner: RunningRunner | undefined;
        try {
          runner = await startRunner([
            "--max-sessions",
            "200",
            ...mode.flags,
            "--",
            Deno.execPath(),
            "run",
            "-A",
            FIXTURE_PATH,
          ]);
          run = await runSuite(suite, `${runner.httpUrl}/mcp`, scratch, outDir);
        } finally {
          await runner?.stop();
        }

        const total = totals(run.stdout);
        let found: { problems: string[]; files: number } = {
          problems: [],
          files: 0,
        };
        try {
          found = await badChecks(outDir);
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
        const unscored = suite.unscored;
        const isScored = (name: string) => !unscored?.test(name);
        const scored = scenarios(run.stdout).filter((s) => isScored(s.name));
        const scoredProblems = found.problems.filter((line) =>
          isScored(scenarioOfLabel(line.slice(0, line.indexOf(":"))))
        );
        const scoredPassed = scored.reduce((n, s) => n + s.passed, 0);
        const report = () =>
          [
            `${suite.pkg} ${suite.select.join(" ")}: exit code ${run.code}${
              run.timedOut ? ` (killed after ${SUITE_TIMEOUT_MS} ms)` : ""
            }, totals ${JSON.stringify(total)}, ${found.files} result files`,
            "Scenarios:",
            ...scenarioLines(run.stdout),
            `Checks with FAILURE or WARNING (${found.problems.length}):`,
            ...found.problems,
            "Suite stderr (tail):",
            tail(run.stderr),
            "Runner stderr (tail):",
            tail(runner?.stderr() ?? ""),
          ].join("\n");

        assert.ok(!run.timedOut, report());
        assert.ok(total, `no "Total:" line in the output\n${report()}`);
        if (unscored === undefined) assert.equal(total.failed, 0, report());
        assert.ok(scored.length > 0, `no scenario lines\n${report()}`);
        assert.deepEqual(
          scored.filter((s) => !s.ok || s.failed > 0).map((s) => s.name),
          [],
          report(),
        );
        assert.ok(
          scoredPassed >= suite.minPassed,
          `${scoredPassed} passed, expected at least ${suite.minPassed}\n${report()}`,
        );
        assert.deepEqual(scoredProblems, [], report());
        assert.ok(found.files > 0, `no result files written\n${report()}`);
        // The suite's exit code counts its own scored scenarios only.
        assert.equal(run.code, 0, report());

        // The runner stopped every fixture child it started.
        const left = processesMatching(NEEDLE).filter((pid) =>
          !before.has(pid)
        );
        assert.deepEqual(left, [], "no conformance fixture process is left");
      } finally {
        await Deno.remove(scratch, { recursive: true });
      }
    });
  }
}
