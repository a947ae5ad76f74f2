/**
 * `deno task compile:all`: builds the release binaries of every supported
 * platform into `dist/` and writes `dist/SHA256SUMS`.
 *
 * The permission flags are read from the `compile` task of deno.json, so the
 * release binaries get exactly the permissions of `deno task compile` (and of
 * the tests, see tests/_helpers.ts). `deno compile` downloads the Deno runtime
 * of each target from dl.deno.land the first time, so this needs that host.
 *
 * Usage: `deno task compile:all [TARGET...]` (default: every target).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import denoConfig from "../deno.json" with { type: "json" };

/** The platforms released, as `deno compile --target` names them. */
export const TARGETS: readonly string[] = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
];

/** The binaries' name before the target. */
export const BINARY_NAME = "mcp-server-runner";

/** Where the binaries and SHA256SUMS go, relative to the repository. */
export const OUT_DIR = "dist";

/** The repository, where `deno compile` runs (this script is not compiled). */
const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** One `deno compile` run. */
export interface CompileStep {
  /** The `--target`. */
  target: string;
  /** The binary's file name inside {@linkcode OUT_DIR}. */
  fileName: string;
  /** Arguments after the `deno` executable. */
  args: string[];
}

/** The flags and entry point of the `compile` task. */
export interface CompileTask {
  /** Every flag except `--output`/`-o` and `--target` (and their values). */
  flags: string[];
  /** The entry module. */
  entry: string;
}

/**
 * Splits the `compile` task of deno.json into its flags and entry point.
 *
 * @param task The task's command line, `deno compile ... main.ts`.
 * @returns The flags (without `--output` and `--target`) and the entry point.
 * @throws {Error} When the task is not a plain `deno compile` command line.
 */
export function parseCompileTask(task: string): CompileTask {
  const words = task.trim().split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "compile") {
    throw new Error(
      `Cannot read the compile task: it must start with "deno compile", received "${task}"`,
    );
  }
  const flags: string[] = [];
  const positionals: string[] = [];
  for (let i = 2; i < words.length; i++) {
    const word = words[i]!;
    if (["--output", "-o", "--target"].includes(word)) {
      i++; // skip the value
    } else if (/^(--output|--target|-o)=/.test(word)) {
      // value attached
    } else if (word.startsWith("-")) {
      flags.push(word);
    } else {
      positionals.push(word);
    }
  }
  if (positionals.length !== 1) {
    throw new Error(
      `Cannot read the compile task: expected one entry point and no script arguments, received ${
        JSON.stringify(positionals)
      }`,
    );
  }
  return { flags, entry: positionals[0]! };
}

/**
 * The `deno compile` runs that build every target.
 *
 * @param task The `compile` task's command line.
 * @param targets The targets to build.
 * @returns One step per target, in order.
 */
export function compileSteps(
  task: string,
  targets: readonly string[] = TARGETS,
): CompileStep[] {
  const { flags, entry } = parseCompileTask(task);
  return targets.map((target) => {
    const fileName = `${BINARY_NAME}-${target}${
      target.includes("windows") ? ".exe" : ""
    }`;
    return {
      target,
      fileName,
      args: [
        "compile",
        ...flags,
        "--target",
        target,
        "--output",
        `${OUT_DIR}/${fileName}`,
        entry,
      ],
    };
  });
}

/**
 * The SHA-256 of a file, read in chunks, as lowercase hex.
 *
 * @param path The file.
 * @returns 64 hex digits.
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * Text of a checksum file that `sha256sum --check` accepts: one
 * `<hex>  <name>` line per file (two spaces: text mode), sorted by name.
 *
 * @param sums File name and hex digest of each file.
 * @returns The text, ending in a newline.
 */
export function sha256sumsText(sums: Record<string, string>): string {
  return Object.keys(sums).sort().map((name) => `${sums[name]}  ${name}\n`)
    .join("");
}

/**
 * Writes `SHA256SUMS` in `dir` for the named files of `dir`.
 *
 * @param dir The folder.
 * @param fileNames Files inside it.
 * @returns The text written.
 */
export async function writeSha256Sums(
  dir: string,
  fileNames: readonly string[],
): Promise<string> {
  const sums: Record<string, string> = {};
  for (const name of fileNames) sums[name] = await sha256File(`${dir}/${name}`);
  const text = sha256sumsText(sums);
  await Deno.writeTextFile(`${dir}/SHA256SUMS`, text);
  return text;
}

const encoder = new TextEncoder();

function say(text: string): void {
  const bytes = encoder.encode(text + "\n");
  let offset = 0;
  while (offset < bytes.length) {
    offset += Deno.stderr.writeSync(bytes.subarray(offset));
  }
}

/**
 * Builds the targets named in `args` (all when empty) and writes SHA256SUMS.
 *
 * @param args Targets to build.
 * @returns The exit code.
 */
export async function main(args: string[]): Promise<number> {
  const unknown = args.filter((target) => !TARGETS.includes(target));
  if (unknown.length > 0) {
    say(
      `Cannot compile: unknown target "${unknown[0]}"; known targets: ${
        TARGETS.join(", ")
      }`,
    );
    return 2;
  }
  const steps = compileSteps(
    denoConfig.tasks.compile,
    args.length > 0 ? args : TARGETS,
  );
  const outDir = `${ROOT}/${OUT_DIR}`;
  await Deno.mkdir(outDir, { recursive: true });
  // A SHA256SUMS left from an earlier run must not outlive a failed build.
  await Deno.remove(`${outDir}/SHA256SUMS`).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  for (const step of steps) {
    say(`Compiling ${step.fileName}: deno ${step.args.join(" ")}`);
    // Deno's own error goes straight to the terminal, above our summary.
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: step.args,
      cwd: ROOT,
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (code !== 0) {
      say(
        `Cannot compile for ${step.target}: "deno compile" exited with ${code}. ` +
          `It downloads the Deno runtime for each target (denort-${step.target}.zip from https://dl.deno.land) ` +
          `the first time, so it needs access to that host; the error above says what failed. ` +
          `No SHA256SUMS was written.`,
      );
      return 1;
    }
  }
  const text = await writeSha256Sums(outDir, steps.map((s) => s.fileName));
  say(`Wrote ${OUT_DIR}/SHA256SUMS:\n${text.trimEnd()}`);
  return 0;
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
