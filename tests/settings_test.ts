/**
 * The settings table: README.md shows what it generates, every flag and
 * variable of it parses, its variables never reach the child, and the
 * child-mode settings have their defaults, ranges and cross-checks.
 *
 * @module
 */

import assert from "node:assert/strict";
import denoConfig from "../deno.json" with { type: "json" };
import {
  type Config,
  ConfigError,
  helpText,
  optionTable,
  parseConfig,
  RUNNER_VARIABLES,
  SETTINGS,
} from "../lib/config/config.ts";
import { type Setting, variablesOf } from "../lib/config/setting.ts";
import { readmeRegions, regionText } from "../scripts/readme_options.ts";
import { MAIN } from "./_helpers.ts";

const REGENERATE =
  "README.md is out of date: run `deno run --allow-read --allow-write scripts/readme_options.ts`";
const TOKEN = "settings-test-token-0123456789";
const FILES: Record<string, string> = { "x.env": "", tokens: TOKEN };
const ENTRIES = Object.entries(SETTINGS) as [string, Setting][];

function parse(
  args: string[],
  env: Record<string, string> = {},
  files: Record<string, string> = FILES,
) {
  return parseConfig(args, { env, readEnvFile: (path) => files[path] });
}

function run(
  args: string[],
  env: Record<string, string> = {},
  files?: Record<string, string>,
): Config {
  const parsed = parse([...args, "--", "server"], env, files);
  assert.equal(parsed.kind, "run");
  return (parsed as Extract<typeof parsed, { kind: "run" }>).config;
}

function fails(
  args: string[],
  env: Record<string, string>,
  message: string,
  files?: Record<string, string>,
) {
  assert.throws(
    () => parse([...args, "--", "server"], env, files),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected ConfigError: ${error}`);
      assert.equal(error.message, message);
      return true;
    },
  );
}

/** A valid value of each text or list setting; others derive theirs. */
const EXAMPLES: Record<string, string> = {
  host: "0.0.0.0",
  envFile: "x.env",
  allowOrigins: "https://app.example.com",
  authTokens: TOKEN,
  authTokenFile: "tokens",
  tlsCert: "cert.pem",
  tlsKey: "key.pem",
  passEnv: "GITHUB_TOKEN",
  env: "NAME=value",
  sharedProtocolVersion: "2025-06-18",
  sharedRoots: "file:///srv/data",
  configFile: "servers.json",
  defaultServer: "github",
};

/** Settings that exclude a command; "config file settings" tests them. */
const WITHOUT_COMMAND = new Set(["configFile", "defaultServer"]);

/** A valid value for a setting that takes one. */
function example(name: string, setting: Setting): string {
  if (setting.kind === "int") return String(setting.max);
  if (setting.kind === "enum") return setting.choices.at(-1)!;
  const value = EXAMPLES[name];
  assert.ok(value !== undefined, `EXAMPLES has a value for ${name}`);
  return value;
}

/** What parsing `example()` should give. */
function expected(name: string, setting: Setting): unknown {
  if (setting.kind === "bool") return true;
  if (setting.kind === "int") return setting.max;
  if (setting.kind === "list") return [example(name, setting)];
  return example(name, setting);
}

/** Flags a setting needs beside it: its TLS partner, or shared mode. */
function companions(name: string, setting: Setting): string[] {
  if (name === "tlsCert") return ["--tls-key", "key.pem"];
  if (name === "tlsKey") return ["--tls-cert", "cert.pem"];
  return setting.only?.mode === "shared" ? ["--child-mode", "shared"] : [];
}

Deno.test("README.md shows --help and the options table as generated", () => {
  const readme = Deno.readTextFileSync(new URL("../README.md", import.meta.url))
    .replaceAll("\r\n", "\n");
  const regions = readmeRegions(denoConfig.version);
  assert.deepEqual(regions.map((r) => r.name), ["help", "options"]);
  assert.equal(regions[0]!.text, helpText(denoConfig.version));
  assert.equal(regions[1]!.text, optionTable());
  for (const region of regions) {
    const current = regionText(readme, region);
    assert.ok(
      current !== undefined,
      `README.md lacks <!-- ${region.name}:start --> ... <!-- ${region.name}:end -->`,
    );
    assert.equal(current, region.text, `${region.name}: ${REGENERATE}`);
  }
});

Deno.test("main.ts --help prints helpText() of the version in deno.json", async () => {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--help"],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.equal(code, 0);
  assert.equal(
    new TextDecoder().decode(stdout),
    helpText(denoConfig.version),
    REGENERATE,
  );
});

Deno.test("RUNNER_VARIABLES is every variable of the table, and none reaches the child", () => {
  const fromTable = new Set(ENTRIES.flatMap(([, s]) => variablesOf(s)));
  assert.deepEqual([...RUNNER_VARIABLES].sort(), [...fromTable].sort());
  for (const [name, setting] of ENTRIES) {
    if (setting.env === undefined || setting.kind === "command") continue;
    if (WITHOUT_COMMAND.has(name)) continue;
    assert.ok(RUNNER_VARIABLES.has(setting.env), setting.env);
    const value = setting.kind === "bool" ? "yes" : example(name, setting);
    const env: Record<string, string> = { [setting.env]: value, KEPT: "1" };
    if (setting.only?.mode === "shared") env.CHILD_MODE = "shared";
    if (name === "cleanEnv") env.PASS_ENV = "KEPT";
    if (name === "tlsCert") env.TLS_KEY = "key.pem";
    if (name === "tlsKey") env.TLS_CERT = "cert.pem";
    const config = run([], env);
    assert.deepEqual(config.childEnv, { KEPT: "1" }, setting.env);
    if (name in config) {
      assert.deepEqual(
        config[name as keyof Config],
        expected(name, setting),
        setting.env,
      );
    }
  }
  const command = run([], { PROGRAM: "p", ARGS: "a,b", RUST_LOG: "debug" });
  assert.deepEqual(command.childEnv, {});
});

Deno.test("config file settings: --config takes the place of a command, --default-server needs it", () => {
  for (
    const [args, env] of [
      [["--config", "servers.json", "--default-server", "github"], {}],
      [[], { CONFIG_FILE: "servers.json", DEFAULT_SERVER: "github" }],
    ] as [string[], Record<string, string>][]
  ) {
    const parsed = parse(args, { ...env, KEPT: "1" });
    assert.equal(parsed.kind, "run");
    const config = (parsed as Extract<typeof parsed, { kind: "run" }>).config;
    assert.equal(config.configFile, "servers.json");
    assert.equal(config.defaultServer, "github");
    assert.equal(config.program, "");
    assert.deepEqual(config.childEnv, { KEPT: "1" });
  }
  fails(
    ["--config", "servers.json"],
    {},
    'Cannot start: --config and a command after "--" exclude each other, received "server"',
  );
  fails(
    ["--default-server", "github"],
    {},
    'Cannot start: --default-server needs --config, received "github"',
  );
});

Deno.test("no two settings share a flag or a variable", () => {
  const flags = ENTRIES.flatMap(([, s]) => s.flag ?? []);
  assert.equal(new Set(flags).size, flags.length, flags.join(" "));
  const variables = ENTRIES.flatMap(([, s]) => variablesOf(s));
  assert.equal(new Set(variables).size, variables.length, variables.join(" "));
});

Deno.test("every flag of the table parses", () => {
  for (const [name, setting] of ENTRIES) {
    if (setting.flag === undefined || WITHOUT_COMMAND.has(name)) continue;
    const flag = `--${setting.flag}`;
    if (setting.kind === "action") {
      assert.equal(parse([flag]).kind, name);
      assert.equal(parse([`-${setting.short}`]).kind, name);
      continue;
    }
    const value = setting.kind === "bool" ? [] : [example(name, setting)];
    const config = run([...companions(name, setting), flag, ...value]);
    if (name in config) {
      assert.deepEqual(
        config[name as keyof Config],
        expected(name, setting),
        flag,
      );
    }
  }
});

Deno.test("every setting is in --help and the README table, with its choices", () => {
  const help = helpText("9.9.9");
  const table = optionTable();
  for (const [, setting] of ENTRIES) {
    for (const variable of variablesOf(setting)) {
      assert.ok(help.includes(variable), variable);
      assert.ok(table.includes(`\`${variable}\``), variable);
    }
    if (setting.flag !== undefined) {
      assert.match(help, new RegExp(`^ {2}--${setting.flag}\\b`, "m"));
      assert.ok(table.includes(`\`--${setting.flag}`), setting.flag);
    }
    if (setting.kind === "enum") {
      for (const choice of setting.choices) {
        assert.ok(setting.help.includes(choice), `${setting.flag}: ${choice}`);
        assert.ok(table.includes(`\`${choice}\``), choice);
      }
    }
  }
  for (const section of ["Server:", "Limits:", "Security:", "Shared mode:"]) {
    assert.match(help, new RegExp(`^${section}$`, "m"));
  }
});

/** The new settings: default, a valid value, an invalid one and its error. */
const NEW: {
  field: keyof Config;
  flag: string;
  env: string;
  fallback: unknown;
  valid: [string, unknown];
  invalid: string;
  must: string;
}[] = [
  {
    field: "childMode",
    flag: "--child-mode",
    env: "CHILD_MODE",
    fallback: "per-session",
    valid: ["Shared", "shared"],
    invalid: "both",
    must: 'must be "per-session" or "shared"',
  },
  {
    field: "prewarm",
    flag: "--prewarm",
    env: "PREWARM",
    fallback: 0,
    valid: ["64", 64],
    invalid: "65",
    must: "must be an integer in 0..64",
  },
  {
    field: "prewarmTtlSeconds",
    flag: "--prewarm-ttl-seconds",
    env: "PREWARM_TTL_SECONDS",
    fallback: 3600,
    valid: ["604800", 604800],
    invalid: "0",
    must: "must be an integer in 1..604800",
  },
  {
    field: "sharedStart",
    flag: "--shared-start",
    env: "SHARED_START",
    fallback: "eager",
    valid: ["lazy", "lazy"],
    invalid: "later",
    must: 'must be "eager" or "lazy"',
  },
  {
    field: "sharedProtocolVersion",
    flag: "--shared-protocol-version",
    env: "SHARED_PROTOCOL_VERSION",
    fallback: "2025-11-25",
    valid: ["2025-06-18", "2025-06-18"],
    invalid: "2025-6-18",
    must: "must be a protocol version such as 2025-11-25 (YYYY-MM-DD)",
  },
  {
    field: "sharedClientRequests",
    flag: "--shared-client-requests",
    env: "SHARED_CLIENT_REQUESTS",
    fallback: "refuse",
    valid: ["attribute", "attribute"],
    invalid: "forward",
    must: 'must be "refuse" or "attribute"',
  },
  {
    field: "sharedRoots",
    flag: "--shared-roots",
    env: "SHARED_ROOTS",
    fallback: [],
    valid: ["file:///srv/a, https://example.com/b", [
      "file:///srv/a",
      "https://example.com/b",
    ]],
    invalid: "not a uri",
    must: "must be a URI such as file:///srv/data",
  },
  {
    field: "sharedLogs",
    flag: "--shared-logs",
    env: "SHARED_LOGS",
    fallback: "broadcast",
    valid: ["drop", "drop"],
    invalid: "keep",
    must: 'must be "broadcast" or "drop"',
  },
  {
    field: "sharedOnExit",
    flag: "--shared-on-exit",
    env: "SHARED_ON_EXIT",
    fallback: "restart",
    valid: ["end-sessions", "end-sessions"],
    invalid: "exit",
    must: 'must be "restart" or "end-sessions"',
  },
  {
    field: "sharedRestartWaitMs",
    flag: "--shared-restart-wait-ms",
    env: "SHARED_RESTART_WAIT_MS",
    fallback: 10000,
    valid: ["0", 0],
    invalid: "600001",
    must: "must be an integer in 0..600000",
  },
  {
    field: "sharedMaxInFlight",
    flag: "--shared-max-in-flight",
    env: "SHARED_MAX_IN_FLIGHT",
    fallback: 4096,
    valid: ["1000000", 1000000],
    invalid: "0",
    must: "must be an integer in 1..1000000",
  },
];

Deno.test("the child-mode settings: default, a valid value, an invalid one", () => {
  const defaults = run([]);
  for (const s of NEW) {
    assert.deepEqual(defaults[s.field], s.fallback, `${s.field} default`);
    const base = s.flag.startsWith("--shared-")
      ? ["--child-mode", "shared"]
      : [];
    const [raw, value] = s.valid;
    assert.deepEqual(run([...base, s.flag, raw])[s.field], value, s.flag);
    assert.deepEqual(run([...base, `${s.flag}=${raw}`])[s.field], value);
    assert.deepEqual(run(base, { [s.env]: raw })[s.field], value, s.env);
    assert.deepEqual(
      run(base, {}, { ".env": `${s.env}="${raw}"\n` })[s.field],
      value,
      `${s.env} in .env`,
    );
    fails(
      [...base, s.flag, s.invalid],
      {},
      `Cannot start: ${s.flag} ${s.must}, received "${s.invalid}"`,
    );
    fails(
      base,
      { [s.env]: s.invalid },
      `Cannot start: ${s.env} ${s.must}, received "${s.invalid}"`,
    );
  }
});

Deno.test("--shared-serialize-calls: off by default, on as a flag or a true variable", () => {
  const shared = ["--child-mode", "shared"];
  assert.equal(run([]).sharedSerializeCalls, false);
  assert.equal(
    run([...shared, "--shared-serialize-calls"]).sharedSerializeCalls,
    true,
  );
  for (const on of ["1", "true", "YES", " on "]) {
    const config = run(shared, { SHARED_SERIALIZE_CALLS: on });
    assert.equal(config.sharedSerializeCalls, true, on);
  }
  // As CLEAN_ENV and NO_AUTH: any other value is off.
  for (const off of ["0", "false", "no", "x"]) {
    const config = run(shared, { SHARED_SERIALIZE_CALLS: off });
    assert.equal(config.sharedSerializeCalls, false, off);
  }
  fails(
    [...shared, "--shared-serialize-calls=yes"],
    {},
    'Cannot start: option "--shared-serialize-calls" takes no value, received "--shared-serialize-calls=yes"',
  );
});

Deno.test("flags over variables over the .env file, for the child mode too", () => {
  const file = { ".env": "CHILD_MODE=shared\nSHARED_LOGS=drop\n" };
  assert.equal(run([], {}, file).childMode, "shared");
  assert.equal(run([], {}, file).sharedLogs, "drop");
  assert.equal(
    run([], { CHILD_MODE: "per-session", SHARED_LOGS: "" }, {
      ".env": "CHILD_MODE=shared\n",
    }).childMode,
    "per-session",
  );
  fails(
    ["--child-mode", "per-session"],
    { CHILD_MODE: "shared" },
    "Cannot start: SHARED_LOGS applies to --child-mode shared only",
    file,
  );
});

Deno.test("--prewarm above 0 is refused with --child-mode shared", () => {
  const message =
    "Cannot start: --prewarm applies to --child-mode per-session only";
  fails(["--child-mode", "shared", "--prewarm", "2"], {}, message);
  fails(
    [],
    { CHILD_MODE: "shared", PREWARM: "1" },
    message.replace("--prewarm", "PREWARM"),
  );
  assert.equal(run(["--child-mode", "shared", "--prewarm", "0"]).prewarm, 0);
  assert.equal(run(["--prewarm", "3"]).prewarm, 3);
  // The TTL of pre-started children is not refused in shared mode.
  assert.equal(
    run(["--child-mode", "shared", "--prewarm-ttl-seconds", "5"])
      .prewarmTtlSeconds,
    5,
  );
});

Deno.test("a --shared-* flag or SHARED_* variable is refused in per-session mode", () => {
  const shared = ENTRIES.filter(([, s]) => s.only?.mode === "shared");
  assert.deepEqual(
    shared.map(([, s]) => s.flag),
    ENTRIES.map(([, s]) => s.flag).filter((f) => f?.startsWith("shared-")),
  );
  assert.equal(shared.length, 9);
  for (const [name, setting] of shared) {
    assert.ok(setting.flag?.startsWith("shared-"), setting.flag);
    assert.ok(setting.env?.startsWith("SHARED_"), setting.env);
    const flag = `--${setting.flag}`;
    // Even when the value given is the default.
    const value = setting.kind === "bool"
      ? []
      : [setting.kind === "enum" ? setting.fallback : example(name, setting)];
    const only = "applies to --child-mode shared only";
    fails([flag, ...value], {}, `Cannot start: ${flag} ${only}`);
    fails(
      ["--child-mode", "per-session", flag, ...value],
      {},
      `Cannot start: ${flag} ${only}`,
    );
    const raw = setting.kind === "bool" ? "0" : example(name, setting);
    fails([], { [setting.env!]: raw }, `Cannot start: ${setting.env} ${only}`);
    // An empty variable is unset.
    assert.equal(run([], { [setting.env!]: "" }).childMode, "per-session");
  }
});
