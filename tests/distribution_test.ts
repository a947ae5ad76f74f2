/**
 * The distribution agrees with the program: the Dockerfile, docker-compose.yml,
 * the GitHub workflows, deploy/ and scripts/compile_all.ts use the runner's
 * real port, variables, subcommand, paths, flags and Deno version.
 *
 * Runs on Linux, macOS and Windows (no /proc, no haproxy, no Docker).
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import denoConfig from "../deno.json" with { type: "json" };
import { parseConfig, RUNNER_VARIABLES } from "../lib/config/config.ts";
import {
  BINARY_NAME,
  compileSteps,
  OUT_DIR,
  parseCompileTask,
  sha256sumsText,
  TARGETS,
  writeSha256Sums,
} from "../scripts/compile_all.ts";
import { compileFlags } from "./_helpers.ts";

const ROOT_URL = new URL("../", import.meta.url);
const ROOT = fileURLToPath(ROOT_URL);

function read(path: string): string {
  return Deno.readTextFileSync(new URL(path, ROOT_URL)).replaceAll(
    "\r\n",
    "\n",
  );
}

/** The default port of the runner, from lib/config/. */
function defaultPort(): number {
  const parsed = parseConfig(["--no-env-file", "--", "x"], {
    env: {},
    readEnvFile: () => undefined,
  });
  assert.equal(parsed.kind, "run");
  return (parsed as Extract<typeof parsed, { kind: "run" }>).config.port;
}

/** The Deno version that .ci/run installs. */
function ciDenoVersion(): string {
  const version = /^DENO_VERSION=(\S+)$/m.exec(read(".ci/run"))?.[1];
  assert.ok(version, ".ci/run sets DENO_VERSION");
  return version;
}

// ---------------------------------------------------------------------------
// A Dockerfile reader: stages and their instructions.
// ---------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  name: string;
  base: string;
  /** `FROM --platform=...`, if given. */
  platform: string | undefined;
  instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  let pending = "";
  for (const raw of text.replaceAll("\r\n", "\n").split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#")) continue; // comments, also inside continuations
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " ";
      continue;
    }
    const full = (pending + line).trim();
    pending = "";
    if (full === "") continue;
    const [keyword, ...rest] = full.split(/\s+/);
    const args = rest.join(" ");
    if (keyword!.toUpperCase() === "FROM") {
      const [base, as, name] = rest.filter((w) => !w.startsWith("--"));
      assert.equal(as?.toUpperCase(), "AS", `every stage is named: ${full}`);
      const platform = /--platform=(\S+)/.exec(args)?.[1];
      stages.push({ name: name!, base: base!, platform, instructions: [] });
      continue;
    }
    assert.ok(stages.length > 0, `an instruction before FROM: ${full}`);
    stages.at(-1)!.instructions.push({ keyword: keyword!.toUpperCase(), args });
  }
  return stages;
}

function all(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) =>
    i.args
  );
}

function one(stage: Stage, keyword: string): string {
  const found = all(stage, keyword);
  assert.equal(found.length, 1, `stage ${stage.name} has one ${keyword}`);
  return found[0]!;
}

function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const args of all(stage, "ENV")) {
    for (const [, name, value] of args.matchAll(/(\w+)=("[^"]*"|\S*)/g)) {
      env[name!] = value!.replace(/^"(.*)"$/, "$1");
    }
  }
  return env;
}

/** `COPY --from=FROM SRC DEST` instructions of a stage, as [src, dest]. */
function copiesFrom(stage: Stage, from: string): [string, string][] {
  return all(stage, "COPY").filter((a) => a.startsWith(`--from=${from} `))
    .map((a) => {
      const [, src, dest] = a.split(/\s+/);
      return [src!, dest!];
    });
}

// ---------------------------------------------------------------------------
// A reader for the YAML this repository writes: block mappings and
// sequences, flow sequences of scalars, `{}`, quoted scalars, block scalars
// (`|`, `>-`), comments and `---` documents.
// ---------------------------------------------------------------------------

type Yaml = string | Yaml[] | { [key: string]: Yaml };

interface YamlLine {
  indent: number;
  text: string;
}

function stripComment(text: string): string {
  let quote = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]!))) {
      return text.slice(0, i).trimEnd();
    }
  }
  return text.trimEnd();
}

function yamlScalar(text: string): Yaml {
  const value = text.trim();
  if (value.startsWith('"')) return JSON.parse(value);
  if (value.startsWith("'")) return value.slice(1, -1).replaceAll("''", "'");
  if (value === "{}") return {};
  if (value.startsWith("[")) {
    const inner = value.slice(1, -1).trim();
    return inner === "" ? [] : inner.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/).map(
      yamlScalar,
    );
  }
  return value;
}

function parseYamlDocuments(text: string): Yaml[] {
  const docs: YamlLine[][] = [[]];
  const rawLines = text.replaceAll("\r\n", "\n").split("\n");
  for (let i = 0; i < rawLines.length; i++) {
    const raw = rawLines[i]!;
    if (raw.trim() === "---") {
      docs.push([]);
      continue;
    }
    const text = stripComment(raw);
    if (text.trim() === "") continue;
    const indent = text.length - text.trimStart().length;
    const line = { indent, text: text.trim() };
    docs.at(-1)!.push(line);
    // A block scalar keeps its lines whatever they contain: `|` literal,
    // `>` folded, with `-` no final line break.
    const block = /:\s*([|>])(-?)$/.exec(line.text);
    if (block) {
      const body: string[] = [];
      while (
        i + 1 < rawLines.length &&
        (rawLines[i + 1]!.trim() === "" ||
          rawLines[i + 1]!.length - rawLines[i + 1]!.trimStart().length >
            indent)
      ) {
        body.push(rawLines[++i]!.trimEnd());
      }
      while (body.at(-1) === "") body.pop();
      const margin = Math.min(
        ...body.filter((l) => l !== "").map((l) =>
          l.length - l.trimStart().length
        ),
      );
      const kept = body.map((l) => l.slice(margin));
      const value = kept.join(block[1] === ">" ? " " : "\n") +
        (block[2] === "-" ? "" : "\n");
      line.text = line.text.slice(0, block.index + 1) + " " +
        JSON.stringify(value);
    }
  }
  return docs.filter((d) => d.length > 0).map((lines) => {
    const [value, next] = yamlNode(lines, 0);
    assert.equal(next, lines.length, `unparsed YAML at ${lines[next]?.text}`);
    return value;
  });
}

function yamlNode(lines: YamlLine[], start: number): [Yaml, number] {
  const indent = lines[start]!.indent;
  const isItem = (l: YamlLine | undefined) =>
    l !== undefined && l.indent === indent &&
    (l.text === "-" || l.text.startsWith("- "));
  if (isItem(lines[start])) {
    const items: Yaml[] = [];
    let i = start;
    while (isItem(lines[i])) {
      const rest = lines[i]!.text.slice(1).trim();
      if (rest === "") {
        const [value, next] = yamlNode(lines, i + 1);
        items.push(value);
        i = next;
      } else if (
        /^[^"'[{][^:]*:(\s|$)/.test(rest) || /^"[^"]*":(\s|$)/.test(rest)
      ) {
        // "- key: value": a mapping whose keys sit two columns in.
        const inner = [{ indent: indent + 2, text: rest }];
        let j = i + 1;
        while (j < lines.length && lines[j]!.indent > indent) {
          inner.push(lines[j]!);
          j++;
        }
        const [value, next] = yamlNode(inner, 0);
        assert.equal(next, inner.length, `unparsed YAML at ${rest}`);
        items.push(value);
        i = j;
      } else {
        items.push(yamlScalar(rest));
        i++;
      }
    }
    return [items, i];
  }
  const map: Record<string, Yaml> = {};
  let i = start;
  while (i < lines.length && lines[i]!.indent === indent) {
    const text = lines[i]!.text;
    const match = /^("[^"]*"|[^:]+):(?:\s+(.*))?$/.exec(text);
    assert.ok(match, `a YAML mapping entry: ${text}`);
    const key = match[1]!.startsWith('"')
      ? JSON.parse(match[1]!)
      : match[1]!.trim();
    if (match[2] !== undefined && match[2] !== "") {
      map[key] = yamlScalar(match[2]);
      i++;
    } else if (
      i + 1 < lines.length &&
      (lines[i + 1]!.indent > indent || isItem(lines[i + 1]))
    ) {
      const [value, next] = yamlNode(lines, i + 1);
      map[key] = value;
      i = next;
    } else {
      map[key] = "";
      i++;
    }
  }
  return [map, i];
}

function get(value: Yaml | undefined, ...path: (string | number)[]): Yaml {
  let current = value;
  for (const key of path) {
    assert.ok(
      current !== undefined && typeof current === "object",
      `YAML path ${path.join(".")} exists`,
    );
    current = (current as Record<string, Yaml>)[key];
  }
  assert.ok(current !== undefined, `YAML path ${path.join(".")} exists`);
  return current;
}

/** `${NAME:-default}` (or `${NAME:?message}`, `${NAME}`) of compose. */
function composeVariable(value: string): { name: string; fallback?: string } {
  const match = /^\$\{(\w+)(?::-(.*)|:\?.*)?\}$/.exec(value);
  assert.ok(match, `a compose variable: ${value}`);
  return match[2] === undefined
    ? { name: match[1]! }
    : { name: match[1]!, fallback: match[2] };
}

// ---------------------------------------------------------------------------
// Subprocesses of the runner, with the compile task's permission flags.
// ---------------------------------------------------------------------------

async function runMain(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...compileFlags(), "main.ts", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/**
 * A runner that never starts a child (no client connects), with a token as
 * in a container (the health endpoints need none).
 */
async function startIdleRunner(): Promise<
  { port: number; stop(): Promise<void> }
> {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...compileFlags(),
      "main.ts",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--no-env-file",
      "--",
      Deno.execPath(),
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1", AUTH_TOKEN: "distribution-test-token-0123456789" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let text = "";
  let port: number | undefined;
  const reader = process.stderr.getReader();
  try {
    while (port === undefined) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      const match = /Listening on ws:\/\/[^\s]*:(\d+)\//.exec(text);
      if (match) port = Number(match[1]);
    }
  } finally {
    reader.releaseLock();
  }
  const drained = process.stderr.pipeTo(new WritableStream());
  if (port === undefined) {
    await process.status;
    await drained;
    throw new Error(`Cannot start the runner:\n${text}`);
  }
  return {
    port,
    async stop() {
      process.kill(Deno.build.os === "windows" ? "SIGKILL" : "SIGTERM");
      await process.status;
      await drained;
    },
  };
}

/** A port on 127.0.0.1 that nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

// ---------------------------------------------------------------------------
// (a) Dockerfile and compose
// ---------------------------------------------------------------------------

const DOCKERFILE = parseDockerfile(read("Dockerfile"));
const RUNTIME_STAGES = ["node", "python", "scratch"];

Deno.test("Dockerfile: build and rootfs stages on the pinned Deno, then node, python and scratch (the default)", () => {
  assert.deepEqual(DOCKERFILE.map((s) => s.name), [
    "build",
    "rootfs",
    ...RUNTIME_STAGES,
  ]);
  const [build, rootfs, node, python, scratch] = DOCKERFILE as [
    Stage,
    Stage,
    Stage,
    Stage,
    Stage,
  ];
  assert.equal(build.base, `denoland/deno:${ciDenoVersion()}`);
  // The compiler runs natively; only the image's platform is a target.
  assert.equal(build.platform, "$BUILDPLATFORM");
  assert.equal(rootfs.base, build.base);
  assert.equal(rootfs.platform, undefined);
  assert.equal(node.base, "node:22-bookworm-slim");
  assert.equal(python.base, "python:3.12-slim");
  assert.equal(scratch.base, "scratch");

  const copied = all(build, "COPY").flatMap((a) => a.split(/\s+/).slice(0, -1));
  for (
    const source of [
      "deno.json",
      "deno.lock",
      "main.ts",
      "lib/",
      "scripts/compile_all.ts",
    ]
  ) {
    assert.ok(copied.includes(source), `the build stage copies ${source}`);
  }
  const runs = all(build, "RUN").join("\n");
  assert.match(runs, /\bdeno cache --frozen main\.ts\b/);
  // compile:all reads the flags of the compile task: the image's binary has
  // the same permissions as every release binary.
  assert.match(runs, /\bdeno task compile:all "\$target"/);
  const targets = [...runs.matchAll(/\b(amd64|arm64)\) target=(\S+) ;;/g)];
  assert.deepEqual(targets.map((m) => m[1]), ["amd64", "arm64"]);
  for (const [, , target] of targets) assert.ok(TARGETS.includes(target!));
  assert.match(
    runs,
    new RegExp(
      `\\bmv "${OUT_DIR}/${BINARY_NAME}-\\$target" ${OUT_DIR}/${BINARY_NAME}$`,
    ),
  );

  const [[source, binary]] = copiesFrom(rootfs, "build") as [
    [string, string],
  ];
  assert.equal(source, `${one(build, "WORKDIR")}/${OUT_DIR}/${BINARY_NAME}`);
  const gather = one(rootfs, "RUN");
  assert.match(gather, new RegExp(`\\bldd ${binary} \\|`));
  assert.match(gather, /\bcp --parents --dereference "\$lib" \/rootfs\//);
});

Deno.test("Dockerfile: each image runs the compiled binary it copies, as a non-root user, on the runner's default port", () => {
  const port = defaultPort();
  assert.equal(port, 8080);
  const build = DOCKERFILE[0]!;
  const binaryInBuild = `${one(build, "WORKDIR")}/${OUT_DIR}/${BINARY_NAME}`;
  for (const name of RUNTIME_STAGES) {
    const stage = DOCKERFILE.find((s) => s.name === name)!;
    const env = envOf(stage);
    assert.equal(env.HOST, "0.0.0.0", `${name}: HOST`);
    assert.equal(env.PORT, String(port), `${name}: PORT`);
    assert.equal(one(stage, "EXPOSE"), String(port), `${name}: EXPOSE`);
    const binaries = copiesFrom(stage, "build").filter(([src]) =>
      src === binaryInBuild
    );
    assert.equal(binaries.length, 1, `${name} copies ${binaryInBuild}`);
    const destination = binaries[0]![1];
    assert.deepEqual(JSON.parse(one(stage, "ENTRYPOINT")), [destination]);
    const check = /\bCMD\s+(\[.*\])$/.exec(one(stage, "HEALTHCHECK"))?.[1];
    assert.ok(check, `${name}: HEALTHCHECK ... CMD [...]`);
    assert.deepEqual(JSON.parse(check), [destination, "healthcheck"]);
    const user = one(stage, "USER");
    assert.ok(
      !/^(root|0)(:|$)/.test(user),
      `${name}: runs as non-root, not ${user}`,
    );
  }
  for (const stage of DOCKERFILE) {
    for (const variable of Object.keys(envOf(stage))) {
      assert.ok(
        RUNNER_VARIABLES.has(variable),
        `${stage.name}: ENV ${variable} is not a variable the runner reads`,
      );
    }
  }
  const scratch = DOCKERFILE.at(-1)!;
  assert.equal(one(scratch, "USER"), "65534:65534");
  // Only the libraries and the binary.
  assert.deepEqual(all(scratch, "COPY"), [
    "--from=rootfs /rootfs/ /",
    `--from=build ${binaryInBuild} /mcp-server-runner`,
  ]);
  assert.equal(one(DOCKERFILE.find((s) => s.name === "node")!, "USER"), "node");
});

Deno.test("docker-compose.yml: the node image with PROGRAM/ARGS/PORT/AUTH_TOKEN, init and the image's health check", () => {
  const [compose] = parseYamlDocuments(read("docker-compose.yml"));
  const services = get(compose, "services") as Record<string, Yaml>;
  assert.deepEqual(Object.keys(services), ["mcp-server-runner", "mcp-servers"]);
  const service = services["mcp-server-runner"]!;
  const target = get(service, "build", "target") as string;
  assert.equal(target, "node");
  const stage = DOCKERFILE.find((s) => s.name === target)!;
  assert.equal(get(service, "init"), "true");

  const env = get(service, "environment") as Record<string, string>;
  assert.deepEqual(Object.keys(env).sort(), [
    "ARGS",
    "AUTH_TOKEN",
    "PORT",
    "PROGRAM",
  ]);
  for (const [name, value] of Object.entries(env)) {
    assert.ok(RUNNER_VARIABLES.has(name), `${name} is read by the runner`);
    assert.equal(composeVariable(value).name, name);
  }
  assert.equal(env.AUTH_TOKEN, "${AUTH_TOKEN:?set AUTH_TOKEN}");
  assert.equal(composeVariable(env.PORT!).fallback, String(defaultPort()));
  assert.equal(composeVariable(env.PROGRAM!).fallback, "npx");
  assert.equal(
    composeVariable(env.ARGS!).fallback,
    "-y,@modelcontextprotocol/server-github",
  );
  assert.deepEqual(get(service, "ports"), ["${PORT:-8080}:${PORT:-8080}"]);

  const imageCheck = /\bCMD\s+(\[.*\])$/.exec(one(stage, "HEALTHCHECK"))![1]!;
  assert.deepEqual(get(service, "healthcheck", "test"), [
    "CMD",
    ...JSON.parse(imageCheck),
  ]);

  // The "servers" profile: deploy/servers.json mounted where CONFIG_FILE
  // points, its ${…} variables passed in, no PROGRAM.
  const servers = services["mcp-servers"]!;
  assert.deepEqual(get(servers, "profiles"), ["servers"]);
  assert.equal(get(servers, "build", "target"), "node");
  assert.equal(get(servers, "init"), "true");
  const serversEnv = get(servers, "environment") as Record<string, string>;
  assert.equal(serversEnv.PROGRAM, undefined);
  assert.equal(serversEnv.AUTH_TOKEN, "${AUTH_TOKEN:?set AUTH_TOKEN}");
  const volumes = get(servers, "volumes") as string[];
  assert.ok(
    volumes.includes(`./deploy/servers.json:${serversEnv.CONFIG_FILE}:ro`),
    volumes.join(", "),
  );
  assert.ok(Deno.statSync(`${ROOT}/deploy/servers.json`).isFile);
  const configText = read("deploy/servers.json");
  for (const [name] of Object.entries(serversEnv)) {
    // Each variable is the runner's, or one the file expands.
    assert.ok(
      RUNNER_VARIABLES.has(name) || configText.includes(`\${${name}`),
      `${name} is read by the runner or by deploy/servers.json`,
    );
  }
  assert.deepEqual(get(servers, "healthcheck", "test"), [
    "CMD",
    ...JSON.parse(imageCheck),
  ]);
});

Deno.test("`healthcheck` is a real subcommand: exit 1 on a closed port, 0 against a running runner", async () => {
  const closed = await runMain(["healthcheck", "--port", String(closedPort())]);
  assert.equal(closed.code, 1, closed.stderr);
  assert.match(closed.stderr, /^unhealthy: http:\/\/127\.0\.0\.1:\d+\/healthz/);

  const runner = await startIdleRunner();
  try {
    // As in the images: no flags, HOST=0.0.0.0 and PORT from the environment.
    const healthy = await runMain(["healthcheck"], {
      HOST: "0.0.0.0",
      PORT: String(runner.port),
      TLS_CERT: "",
    });
    assert.equal(healthy.code, 0, healthy.stderr);
    assert.match(healthy.stdout, /^healthy: .*HTTP 200 ok/);
  } finally {
    await runner.stop();
  }
});

// ---------------------------------------------------------------------------
// (b) one set of permission flags
// ---------------------------------------------------------------------------

Deno.test("compile, compile:all and the tests use the same permission flags", () => {
  const task = parseCompileTask(denoConfig.tasks.compile);
  assert.deepEqual(task.flags, compileFlags());
  assert.deepEqual(task.flags, [
    "--allow-net",
    "--allow-run",
    "--allow-env",
    "--allow-read",
  ]);
  assert.equal(task.entry, "main.ts");
  assert.match(
    denoConfig.tasks["compile:all"],
    /^deno run .*scripts\/compile_all\.ts$/,
  );
  assert.match(denoConfig.tasks.start, new RegExp(task.flags.join(" ")));

  assert.deepEqual(TARGETS, [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
  ]);
  const steps = compileSteps(denoConfig.tasks.compile);
  assert.equal(steps.length, TARGETS.length);
  for (const [i, step] of steps.entries()) {
    const target: string = TARGETS[i]!;
    const name: string = `mcp-server-runner-${target}${
      target.includes("windows") ? ".exe" : ""
    }`;
    assert.equal(step.fileName, name);
    assert.deepEqual(step.args, [
      "compile",
      ...compileFlags(),
      "--target",
      target,
      "--output",
      `${OUT_DIR}/${name}`,
      "main.ts",
    ]);
  }
});

Deno.test("compile:all writes SHA256SUMS in sha256sum format", async () => {
  assert.equal(
    sha256sumsText({ b: "f".repeat(64), a: "0".repeat(64) }),
    `${"0".repeat(64)}  a\n${"f".repeat(64)}  b\n`,
  );
  const dir = await Deno.makeTempDir({ prefix: "sha256sums-" });
  try {
    await Deno.writeTextFile(`${dir}/one`, "abc");
    await Deno.writeFile(`${dir}/two.exe`, new Uint8Array(0));
    const text = await writeSha256Sums(dir, ["two.exe", "one"]);
    const expected =
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  one\n" +
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  two.exe\n";
    assert.equal(text, expected);
    assert.equal(await Deno.readTextFile(`${dir}/SHA256SUMS`), expected);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------
// (c) nothing reads files next to the source: a binary has no source tree
// ---------------------------------------------------------------------------

Deno.test("lib/ and main.ts never locate files through import.meta (a compiled binary has no source tree)", () => {
  const files = ["main.ts"];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(new URL(dir, ROOT_URL))) {
      if (entry.isDirectory) walk(`${dir}${entry.name}/`);
      else if (entry.name.endsWith(".ts")) files.push(`${dir}${entry.name}`);
    }
  };
  walk("lib/");
  assert.ok(files.length > 5, "lib/ was read");
  const offences: string[] = [];
  for (const file of files) {
    // Comments may mention it; code may not.
    const code = read(file).replace(
      /\/\*[\s\S]*?\*\//g,
      (c) => c.replace(/[^\n]/g, " "),
    ).replace(/(^|[^:])\/\/.*$/gm, "$1");
    for (const [i, line] of code.split("\n").entries()) {
      const use = /import\.meta\.(url|dirname|filename|resolve)\b/.exec(line);
      if (use) offences.push(`${file}:${i + 1}: ${line.trim()}`);
    }
  }
  assert.deepEqual(
    offences,
    [],
    "In the binary built by `deno compile`, import.meta points into its embedded file system, which holds the module graph only: read files from the working directory or a flag, or embed them with a JSON/text import.",
  );
  assert.match(read("main.ts"), /\bimport\.meta\.main\b/);
});

// ---------------------------------------------------------------------------
// (d) --version
// ---------------------------------------------------------------------------

Deno.test("--version prints the version of deno.json and exits 0", async () => {
  const { code, stdout } = await runMain(["--version"]);
  assert.equal(code, 0);
  assert.equal(stdout, `mcp-server-runner ${denoConfig.version}\n`);
});

// ---------------------------------------------------------------------------
// (e) deploy/ and the workflows
// ---------------------------------------------------------------------------

Deno.test("deploy/haproxy.cfg: health checks on /healthz, sessions pinned by Mcp-Session-Id, runners on 8080", () => {
  const cfg = read("deploy/haproxy.cfg").split("\n").map((l) =>
    l.replace(/#.*$/, "").trim()
  ).filter((l) => l !== "");
  const has = (line: string) =>
    assert.ok(cfg.includes(line), `haproxy.cfg has "${line}"`);
  has("option httpchk GET /healthz");
  has("http-check expect status 200");
  has("balance leastconn");
  has("option http-no-delay");
  has("stick store-response res.hdr(mcp-session-id)");
  has("stick match req.hdr(mcp-session-id)");
  assert.ok(cfg.some((l) => /^timeout tunnel \d+h$/.test(l)));
  assert.ok(cfg.includes('bind "${LISTEN-:8080}"'));
  const servers = cfg.filter((l) => l.startsWith("server "));
  assert.ok(servers.length >= 2);
  for (const server of servers) {
    assert.match(
      server,
      /^server runner([12]) "\$\{RUNNER_\1-runner\1:8080\}"$/,
    );
  }
  // The session id the runner makes fits the stick table's keys.
  const length = Number(/type string len (\d+)/.exec(cfg.join("\n"))?.[1]);
  assert.ok(length >= 32, "stick table keys hold a 32-character session id");
});

Deno.test("deploy/kubernetes.yaml: Secret, Deployment probing /healthz and /readyz on 8080, Service", () => {
  const docs = parseYamlDocuments(read("deploy/kubernetes.yaml"));
  assert.deepEqual(docs.map((d) => get(d, "kind")), [
    "Secret",
    "Deployment",
    "Service",
  ]);
  const [secret, deployment, service] = docs;
  const secretName = get(secret, "metadata", "name");
  assert.equal(get(deployment, "spec", "replicas"), "2");
  const pod = get(deployment, "spec", "template", "spec");
  assert.equal(get(pod, "securityContext", "runAsNonRoot"), "true");
  const [container] = get(pod, "containers") as Yaml[];
  assert.match(get(container, "image") as string, /:node$/);
  assert.equal(get(container, "ports", 0, "containerPort"), "8080");
  assert.equal(get(container, "livenessProbe", "httpGet", "path"), "/healthz");
  assert.equal(get(container, "readinessProbe", "httpGet", "path"), "/readyz");
  get(container, "resources", "requests");
  get(container, "resources", "limits");
  const env = get(container, "env") as Yaml[];
  const names = env.map((e) => get(e, "name") as string);
  for (const name of ["PROGRAM", "ARGS", "AUTH_TOKEN"]) {
    assert.ok(names.includes(name), `the Deployment sets ${name}`);
  }
  const token = env.find((e) => get(e, "name") === "AUTH_TOKEN")!;
  assert.equal(
    get(token, "valueFrom", "secretKeyRef", "name"),
    secretName,
  );
  assert.ok(
    Object.hasOwn(
      get(secret, "stringData") as object,
      get(token, "valueFrom", "secretKeyRef", "key") as string,
    ),
  );
  assert.equal(get(service, "spec", "ports", 0, "port"), "8080");
  assert.deepEqual(
    get(service, "spec", "selector"),
    get(deployment, "spec", "selector", "matchLabels"),
  );
  assert.match(read("deploy/kubernetes.yaml"), /Mcp-Session-Id/);
});

Deno.test("workflows: CI runs .ci/run and the portable tests on the pinned Deno; a release builds every binary and both images", () => {
  const version = ciDenoVersion();
  const [ci] = parseYamlDocuments(read(".github/workflows/ci.yml"));
  const [release] = parseYamlDocuments(read(".github/workflows/release.yml"));
  const steps = (workflow: Yaml) =>
    Object.values(get(workflow, "jobs") as Record<string, Yaml>).flatMap((
      job,
    ) => get(job, "steps") as Record<string, Yaml>[]);
  for (const workflow of [ci, release]) {
    for (const step of steps(workflow!)) {
      if (String(step.uses ?? "").startsWith("denoland/setup-deno@")) {
        assert.equal(get(step, "with", "deno-version"), version);
      }
      if (step.uses !== undefined) {
        assert.match(step.uses as string, /@v\d+$/, "actions are pinned");
      }
    }
  }
  const ciRuns = steps(ci!).map((s) => String(s.run ?? ""));
  assert.ok(ciRuns.includes("bash .ci/run"));
  const portable = ciRuns.find((r) => r.startsWith("deno test"));
  assert.ok(portable);
  const files = portable.split(/\s+/).filter((w) => w.startsWith("tests/"));
  assert.ok(files.includes("tests/distribution_test.ts"));
  for (const file of files) Deno.statSync(new URL(file, ROOT_URL));

  assert.deepEqual(get(release, "on", "push", "tags"), ["v*"]);
  const releaseSteps = steps(release!);
  assert.ok(releaseSteps.some((s) => s.run === "deno task compile:all"));
  const upload = releaseSteps.find((s) =>
    String(s.uses).startsWith("softprops/action-gh-release@")
  );
  assert.equal(get(upload, "with", "files"), `${OUT_DIR}/*`);
  const builds = releaseSteps.filter((s) =>
    String(s.uses).startsWith("docker/build-push-action@")
  );
  assert.deepEqual(builds.map((b) => get(b, "with", "target")), [
    "scratch",
    "node",
  ]);
  for (const build of builds) {
    assert.equal(get(build, "with", "platforms"), "linux/amd64,linux/arm64");
    assert.ok(
      DOCKERFILE.some((s) => s.name === get(build, "with", "target")),
    );
  }
  assert.match(get(builds[0], "with", "tags") as string, /:latest$/m);
  assert.match(get(builds[1], "with", "tags") as string, /:node$/m);
  for (
    const action of [
      "docker/setup-qemu-action@",
      "docker/setup-buildx-action@",
      "docker/login-action@",
    ]
  ) {
    assert.ok(releaseSteps.some((s) => String(s.uses).startsWith(action)));
  }
});
