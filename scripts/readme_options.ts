/**
 * Rewrites the generated parts of README.md from the settings table: the
 * `--help` output (between `<!-- help:start -->` and `<!-- help:end -->`)
 * and the options table (between `<!-- options:start -->` and
 * `<!-- options:end -->`).
 *
 * ```sh
 * deno run --allow-read --allow-write scripts/readme_options.ts
 * ```
 *
 * `tests/settings_test.ts` fails while README.md is out of date.
 *
 * @module
 */

import denoConfig from "../deno.json" with { type: "json" };
import { helpText, optionTable } from "../lib/config/config.ts";

/** A generated part of the README. */
export interface Region {
  /** The marker name: `<!-- NAME:start -->`. */
  name: string;
  /** Its text as it should be (what the markers enclose, without fences). */
  text: string;
  /** Whether it is shown in a ``` block. */
  fenced: boolean;
}

/** The generated parts of the README for the version in deno.json. */
export function readmeRegions(version: string = denoConfig.version): Region[] {
  return [
    { name: "help", text: helpText(version), fenced: true },
    { name: "options", text: optionTable(), fenced: false },
  ];
}

const FENCE = "```\n";
/** A fenced region as `deno fmt` leaves it: blank lines around the fences. */
const OPEN = "\n" + FENCE;
const CLOSE = FENCE + "\n";

function markers(name: string): [string, string] {
  return [`<!-- ${name}:start -->\n`, `<!-- ${name}:end -->`];
}

/**
 * What the README has between a region's markers (without the fences of a
 * fenced one), or `undefined` when the markers are missing.
 *
 * @param readme The README's text, with `\n` line ends.
 * @param region The region.
 * @returns Its current text.
 */
export function regionText(
  readme: string,
  region: Region,
): string | undefined {
  const [start, end] = markers(region.name);
  const from = readme.indexOf(start);
  const to = readme.indexOf(end, from);
  if (from === -1 || to === -1) return undefined;
  const body = readme.slice(from + start.length, to);
  if (!region.fenced) return body;
  return body.startsWith(OPEN) && body.endsWith(CLOSE)
    ? body.slice(OPEN.length, -CLOSE.length)
    : body;
}

/**
 * The README with every region regenerated.
 *
 * @param readme The README's text, with `\n` line ends.
 * @param regions The regions.
 * @returns The new text.
 * @throws {Error} When a region's markers are missing.
 */
export function rewriteReadme(readme: string, regions: Region[]): string {
  let text = readme;
  for (const region of regions) {
    const [start, end] = markers(region.name);
    const from = text.indexOf(start);
    const to = text.indexOf(end, from);
    if (from === -1 || to === -1) {
      throw new Error(
        `README.md has no ${start.trim()} ... ${end} markers`,
      );
    }
    const body = region.fenced ? OPEN + region.text + CLOSE : region.text;
    text = text.slice(0, from + start.length) + body + text.slice(to);
  }
  return text;
}

if (import.meta.main) {
  const path = new URL("../README.md", import.meta.url);
  const before = Deno.readTextFileSync(path).replaceAll("\r\n", "\n");
  const after = rewriteReadme(before, readmeRegions());
  if (after === before) {
    Deno.stdout.writeSync(new TextEncoder().encode("README.md is current\n"));
  } else {
    Deno.writeTextFileSync(path, after);
    Deno.stdout.writeSync(new TextEncoder().encode("README.md rewritten\n"));
  }
}
