import assert from "node:assert/strict";
import {
  ConfigError,
  helpText,
  parseConfig,
  RUNNER_VARIABLES,
} from "../lib/config/config.ts";

function run(
  args: string[],
  env: Record<string, string> = {},
  files: Record<string, string> = {},
) {
  const parsed = parseConfig(args, { env, readEnvFile: (path) => files[path] });
  assert.equal(parsed.kind, "run");
  return (parsed as Extract<typeof parsed, { kind: "run" }>).config;
}

function fails(
  args: string[],
  env: Record<string, string>,
  message: string,
  files: Record<string, string> = {},
) {
  assert.throws(
    () => parseConfig(args, { env, readEnvFile: (path) => files[path] }),
    (error: unknown) => {
      assert.ok(
        error instanceof ConfigError,
        `expected ConfigError, got ${error}`,
      );
      assert.equal(error.message, message);
      return true;
    },
  );
}

Deno.test("parseConfig() applies the seed's defaults", () => {
  const config = run([], { PROGRAM: "server" });
  assert.equal(config.program, "server");
  assert.deepEqual(config.args, []);
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.port, 8080);
  assert.equal(config.logLevel, "info");
  assert.equal(config.logFormat, "text");
  assert.equal(config.maxSessions, 32);
  assert.equal(config.maxMessageBytes, 10 * 1024 * 1024);
  assert.equal(config.shutdownGraceMs, 2000);
  assert.equal(config.keepaliveSeconds, 30);
  assert.equal(config.envFile, undefined);
});

Deno.test("parseConfig() splits ARGS on commas and takes a command after --", () => {
  assert.deepEqual(
    run([], { PROGRAM: "npx", ARGS: "-y,@scope/pkg,--flag=a b" }).args,
    [
      "-y",
      "@scope/pkg",
      "--flag=a b",
    ],
  );
  const config = run(["--port", "9", "--", "npx", "-y", "pkg", "--port", "1"], {
    PROGRAM: "ignored",
    ARGS: "x",
  });
  assert.equal(config.program, "npx");
  assert.deepEqual(config.args, ["-y", "pkg", "--port", "1"]);
  assert.equal(config.port, 9);
});

Deno.test("parseConfig() ranks flags over environment over .env file", () => {
  const files = {
    ".env":
      "PORT=1111\nHOST=10.0.0.1\nLOG_LEVEL=debug\nSECRET=from-file\nSHARED=file\n",
  };
  const fromFile = run([], { PROGRAM: "p" }, files);
  assert.equal(fromFile.port, 1111);
  assert.equal(fromFile.host, "10.0.0.1");
  assert.equal(fromFile.logLevel, "debug");
  assert.equal(fromFile.envFile, ".env");
  const fromEnv = run([], { PROGRAM: "p", PORT: "2222", SHARED: "env" }, files);
  assert.equal(fromEnv.port, 2222);
  assert.equal(fromEnv.childEnv.SHARED, "env");
  assert.equal(fromEnv.childEnv.SECRET, "from-file");
  const fromFlag = run(["--port", "3333", "--host", "0.0.0.0"], {
    PROGRAM: "p",
    PORT: "2222",
  }, files);
  assert.equal(fromFlag.port, 3333);
  assert.equal(fromFlag.host, "0.0.0.0");
});

Deno.test("parseConfig() reads --env-file, skips with --no-env-file", () => {
  const files = {
    ".env": "PORT=1111\n",
    "other.env": "PORT=4444\nPROGRAM=from-other\n",
  };
  assert.equal(run(["--env-file", "other.env"], {}, files).port, 4444);
  assert.equal(
    run(["--env-file", "other.env"], {}, files).program,
    "from-other",
  );
  assert.equal(run(["--no-env-file"], { PROGRAM: "p" }, files).port, 8080);
  assert.equal(
    run(["--no-env-file"], { PROGRAM: "p" }, files).envFile,
    undefined,
  );
});

Deno.test("parseConfig() keeps the runner's own settings out of the child's environment", () => {
  const env: Record<string, string> = {
    PATH: "/bin",
    HOME: "/root",
    GITHUB_TOKEN: "t",
    OTHER: "1",
  };
  for (const name of RUNNER_VARIABLES) {
    env[name] = name === "PORT" ? "1" : name === "MAX_SESSIONS" ? "2" : "x";
  }
  // The child-mode settings need valid values too; in shared mode every
  // SHARED_* variable may be set.
  Object.assign(env, {
    CHILD_MODE: "shared",
    PREWARM: "0",
    PREWARM_TTL_SECONDS: "60",
    SHARED_START: "lazy",
    SHARED_PROTOCOL_VERSION: "2025-06-18",
    SHARED_CLIENT_REQUESTS: "attribute",
    SHARED_ROOTS: "file:///srv",
    SHARED_LOGS: "drop",
    SHARED_ON_EXIT: "end-sessions",
    SHARED_RESTART_WAIT_MS: "0",
    SHARED_MAX_IN_FLIGHT: "1",
  });
  // No config file: the command is PROGRAM; the servers settings valid.
  delete env.CONFIG_FILE;
  delete env.DEFAULT_SERVER;
  env.RELOAD_GRACE_SECONDS = "5";
  env.CONSOLE = "1";
  env.STRICT_CONFIG = "0";
  env.LOG_LEVEL = "info";
  env.RUST_LOG = "debug";
  env.LOG_FORMAT = "json";
  for (
    const name of [
      "MAX_MESSAGE_BYTES",
      "SHUTDOWN_GRACE_MS",
      "KEEPALIVE_SECONDS",
      "SEND_TIMEOUT_MS",
      "SESSION_IDLE_TIMEOUT",
      "MAX_IN_FLIGHT",
    ]
  ) {
    env[name] = "5000";
  }
  env.HOST = "127.0.0.1";
  env.SEND_BUFFER_BYTES = "65536";
  env.ALLOW_ORIGINS = "https://app.example.com";
  env.AUTH_TOKEN = "secret-token-0123456789";
  delete env.AUTH_TOKEN_FILE;
  delete env.ENV_FILE;
  const config = run([], env, { ".env": "FROM_FILE=yes\n" });
  assert.deepEqual(config.childEnv, {
    PATH: "/bin",
    HOME: "/root",
    GITHUB_TOKEN: "t",
    OTHER: "1",
    FROM_FILE: "yes",
  });
  for (
    const name of [
      "PROGRAM",
      "ARGS",
      "HOST",
      "PORT",
      "LOG_LEVEL",
      "RUST_LOG",
      "LOG_FORMAT",
      "MAX_SESSIONS",
    ]
  ) {
    assert.ok(RUNNER_VARIABLES.has(name), name);
  }
});

Deno.test("parseConfig() takes RUST_LOG when LOG_LEVEL is unset", () => {
  assert.equal(run([], { PROGRAM: "p", RUST_LOG: "debug" }).logLevel, "debug");
  assert.equal(
    run([], { PROGRAM: "p", RUST_LOG: "my_crate=trace,warn" }).logLevel,
    "warning",
  );
  assert.equal(
    run([], { PROGRAM: "p", RUST_LOG: "my_crate=trace" }).logLevel,
    "trace",
  );
  assert.equal(
    run([], { PROGRAM: "p", RUST_LOG: "debug", LOG_LEVEL: "error" }).logLevel,
    "error",
  );
  assert.equal(
    run(["--log-level", "WARN"], { PROGRAM: "p", RUST_LOG: "debug" }).logLevel,
    "warning",
  );
});

Deno.test("parseConfig() names the flag or variable and the value in every error", () => {
  fails(
    [],
    { PROGRAM: "p", PORT: "80a" },
    'Cannot start: PORT must be an integer in 0..65535, received "80a"',
  );
  fails(
    ["--port", "70000"],
    { PROGRAM: "p" },
    'Cannot start: --port must be an integer in 0..65535, received "70000"',
  );
  fails(
    [],
    { PROGRAM: "p", PORT: "-1" },
    'Cannot start: PORT must be an integer in 0..65535, received "-1"',
  );
  fails(
    [],
    { PROGRAM: "p" },
    'Cannot start: PORT must be an integer in 0..65535, received "x"',
    { ".env": "PORT=x\n" },
  );
  fails(
    ["--max-sessions", "0"],
    { PROGRAM: "p" },
    'Cannot start: --max-sessions must be an integer in 1..100000, received "0"',
  );
  fails(
    [],
    { PROGRAM: "p", MAX_MESSAGE_BYTES: "1e6" },
    'Cannot start: MAX_MESSAGE_BYTES must be an integer in 1024..67108864, received "1e6"',
  );
  fails(
    ["--shutdown-grace-ms", "soon"],
    { PROGRAM: "p" },
    'Cannot start: --shutdown-grace-ms must be an integer in 0..600000, received "soon"',
  );
  fails(
    [],
    { PROGRAM: "p", KEEPALIVE_SECONDS: "1.5" },
    'Cannot start: KEEPALIVE_SECONDS must be an integer in 0..86400, received "1.5"',
  );
  fails(
    ["--send-timeout-ms", "5"],
    { PROGRAM: "p" },
    'Cannot start: --send-timeout-ms must be an integer in 100..3600000, received "5"',
  );
  fails(
    [],
    { PROGRAM: "p", MAX_IN_FLIGHT: "" + "0" },
    'Cannot start: MAX_IN_FLIGHT must be an integer in 1..1000000, received "0"',
  );
  fails(
    [],
    { PROGRAM: "p", LOG_LEVEL: "loud" },
    'Cannot start: LOG_LEVEL must be one of trace, debug, info, warning, error, fatal, received "loud"',
  );
  fails(
    [],
    { PROGRAM: "p", RUST_LOG: "verbose" },
    'Cannot start: RUST_LOG must be one of trace, debug, info, warning, error, fatal, received "verbose"',
  );
  fails(
    ["--log-format", "xml"],
    { PROGRAM: "p" },
    'Cannot start: --log-format must be "text" or "json", received "xml"',
  );
  fails(
    ["--host", "a b"],
    { PROGRAM: "p" },
    'Cannot start: --host must be a host name or address, received "a b"',
  );
  fails(
    [],
    {},
    'Cannot start: no MCP server to run: set PROGRAM (and ARGS) or give the command after "--"',
  );
  fails(
    ["--env-file", "missing.env"],
    { PROGRAM: "p" },
    'Cannot start: --env-file names a file that does not exist, received "missing.env"',
  );
  fails(
    [],
    { PROGRAM: "p", ENV_FILE: "gone.env" },
    'Cannot start: ENV_FILE names a file that does not exist, received "gone.env"',
  );
  fails(
    ["--env-file", "a", "--no-env-file"],
    { PROGRAM: "p" },
    "Cannot start: --env-file and --no-env-file exclude each other",
  );
  fails(
    ["--bogus"],
    {},
    'Cannot start: unknown option "--bogus" (put the MCP server\'s command and its options after "--")',
  );
  fails(["--port"], {}, 'Cannot start: option "--port" needs a value');
});

Deno.test("parseConfig() recognises --help and --version", () => {
  assert.equal(
    parseConfig(["--help"], { env: {}, readEnvFile: () => undefined }).kind,
    "help",
  );
  assert.equal(
    parseConfig(["-V"], { env: {}, readEnvFile: () => undefined }).kind,
    "version",
  );
  const help = helpText("1.2.3");
  for (
    const word of [
      "--host",
      "--port",
      "--log-level",
      "--log-format",
      "--max-sessions",
      "--max-message-bytes",
      "--shutdown-grace-ms",
      "--env-file",
      "--no-env-file",
      "--help",
      "--version",
      "PROGRAM",
      "ARGS",
    ]
  ) {
    assert.ok(help.includes(word), word);
  }
});

Deno.test("parseConfig() strips a byte order mark from the .env file", () => {
  const config = run([], { PROGRAM: "p" }, {
    ".env": "\uFEFFAUTH_TOKEN=secret-token-0123456789\nOTHER=1\n",
  });
  assert.deepEqual(config.authTokens, ["secret-token-0123456789"]);
  assert.deepEqual(config.childEnv, { OTHER: "1" });
});

Deno.test("parseConfig() strips a byte order mark from the token file", () => {
  const config = run(["--auth-token-file", "tokens"], { PROGRAM: "p" }, {
    tokens: "\uFEFFsecret-token-0123456789\r\n# old\r\n",
  });
  assert.deepEqual(config.authTokens, ["secret-token-0123456789"]);
});

Deno.test("parseConfig() refuses a .env name that is not a variable name, by file and line", () => {
  const message = (file: string, line: number) =>
    `Cannot start: env file "${file}" line ${line} does not start with a valid variable name (letters, digits and _, not starting with a digit; the line is not shown)`;
  const cases: [string, number][] = [
    ["A=1\n# comment\n\nBAD KEY=hunter2-secret\n", 4],
    ["=hunter2-secret\n", 1],
    ["OK=1\r\n1ST=hunter2-secret\r\n", 2],
    ["export K.DOT=hunter2-secret\n", 1],
    ["A-B=hunter2-secret\n", 1],
    // a quoted value spans lines: what is inside it is not a name
    ['M="l1\nNOT A NAME=inside"\nZ=9\nQ Q=hunter2-secret\n', 4],
    // the byte order mark goes, a second one is an error
    ["\uFEFF\uFEFFAUTH_TOKEN=hunter2-secret\n", 1],
  ];
  for (const [text, line] of cases) {
    fails([], { PROGRAM: "p" }, message(".env", line), { ".env": text });
    fails(
      ["--env-file", "conf/other.env"],
      { PROGRAM: "p" },
      message("conf/other.env", line),
      { "conf/other.env": text },
    );
  }
  // Names parseEnv accepts and quoted values spanning lines still load.
  const config = run([], { PROGRAM: "p" }, {
    ".env":
      'export A_1=x\n_B = y\nM="l1\nNOT A NAME=inside"\nlower=z\nNOEQUALS\n',
  });
  assert.deepEqual(config.childEnv, {
    A_1: "x",
    _B: "y",
    M: "l1\nNOT A NAME=inside",
    lower: "z",
  });
});

Deno.test("parseConfig() tells whether a token came from --auth-token", () => {
  const token = "secret-token-0123456789";
  assert.equal(
    run(["--auth-token", token], { PROGRAM: "p" }).authTokenOnCommandLine,
    true,
  );
  assert.equal(
    run([`--auth-token=${token}`], { PROGRAM: "p" }).authTokenOnCommandLine,
    true,
  );
  assert.equal(
    run([], { PROGRAM: "p", AUTH_TOKEN: token }).authTokenOnCommandLine,
    false,
  );
  assert.equal(
    run(["--auth-token-file", "t"], { PROGRAM: "p" }, { t: token })
      .authTokenOnCommandLine,
    false,
  );
  assert.match(helpText("1.2.3"), /--auth-token TOKEN .* shows in ps/);
  assert.match(helpText("1.2.3"), /--env-file PATH .* a bad NAME is an error/);
});
