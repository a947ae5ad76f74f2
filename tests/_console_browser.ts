/**
 * The harness of the web console's browser tests: headless Chromium
 * (Debian's `chromium`, driven by `playwright-core`, as in
 * `browser_test.ts`), a page whose every request is recorded and refused
 * unless same-origin, screenshots, and the console fixture's command.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Browser, chromium, type Page } from "playwright-core";
import type { RunningRunner } from "./_helpers.ts";

/** What page-side functions see (the DOM, untyped here). */
// deno-lint-ignore no-explicit-any
export type Loose = any;

/** Debian's Chromium. */
export const CHROMIUM = "/usr/bin/chromium";
/** True when Chromium is missing: the browser tests are skipped. */
export const NO_CHROMIUM: boolean = (() => {
  try {
    return !Deno.statSync(CHROMIUM).isFile;
  } catch {
    return true;
  }
})();
/** Appended to the names of skipped tests. */
export const SKIPPED: string = NO_CHROMIUM
  ? ` [IGNORED: ${CHROMIUM} is missing; apt-get install -y chromium]`
  : "";

/** Flags for a quiet, self-contained headless Chromium. */
export const CHROMIUM_ARGS: string[] = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Every wait in the page gives up after this long. */
export const WAIT_MS = 15_000;

/** The command that runs `tests/fixtures/console_fixture.ts`. */
export const CONSOLE_FIXTURE: string[] = [
  Deno.execPath(),
  "run",
  "-A",
  new URL("./fixtures/console_fixture.ts", import.meta.url).pathname,
];

/** A fresh token (letters and digits). */
export function newToken(): string {
  return "con" + crypto.randomUUID().replaceAll("-", "");
}

/** Settles with `promise`, or rejects after `ms` (the timer always cleared). */
export async function bounded<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what}: nothing within ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Launches Chromium, runs `body`, and closes the browser whatever happens. */
export async function withBrowser(
  body: (browser: Browser) => Promise<void>,
): Promise<void> {
  const browser = await bounded(
    chromium.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      timeout: 30_000,
    }),
    40_000,
    "Chromium launch",
  );
  try {
    await body(browser);
  } finally {
    await bounded(browser.close(), 30_000, "Chromium close");
  }
}

/** A page with what happened to its requests. */
export interface ConsolePage {
  /** The page (the caller closes it). */
  page: Page;
  /** Every request's URL. */
  requests: string[];
  /** Requests to another origin (refused). */
  offOrigin: string[];
  /** Script errors and console errors. */
  problems: string[];
  /** Responses of status 400 or more: `METHOD /path STATUS`. */
  failures: string[];
}

/**
 * A page whose every request is recorded, and refused unless same-origin.
 *
 * @param browser The browser.
 * @param origin The only origin requests may go to.
 * @returns The page and its records.
 */
export async function consolePage(
  browser: Browser,
  origin: string,
): Promise<ConsolePage> {
  const page = await browser.newPage({
    viewport: { width: 1280, height: 860 },
  });
  page.setDefaultTimeout(WAIT_MS);
  const requests: string[] = [];
  const offOrigin: string[] = [];
  const problems: string[] = [];
  await page.route("**", (route) => {
    const url = route.request().url();
    requests.push(url);
    if (new URL(url).origin === origin) return route.continue();
    offOrigin.push(url);
    return route.abort();
  });
  const failures: string[] = [];
  page.on("response", (response) => {
    if (response.status() >= 400) {
      failures.push(
        `${response.request().method()} ${
          new URL(response.url()).pathname
        } ${response.status()}`,
      );
    }
  });
  page.on(
    "pageerror",
    (error) => problems.push(`page error: ${error.message}`),
  );
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  return { page, requests, offOrigin, problems, failures };
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Screenshots the page into `dir/name.png` and checks it is a PNG. */
export async function screenshot(
  page: Page,
  dir: string,
  name: string,
): Promise<string> {
  const path = `${dir}/${name}.png`;
  await page.screenshot({ path });
  const bytes = await Deno.readFile(path);
  assert.ok(bytes.length > 1000, `${name}: ${bytes.length} bytes`);
  assert.deepEqual([...bytes.subarray(0, 8)], PNG_SIGNATURE);
  return path;
}

/** Opens a pane of the console and waits until it shows. */
export async function pane(page: Page, name: string): Promise<void> {
  await page.click(`nav button[data-pane="${name}"]`);
  await page.locator(`#pane-${name}`).waitFor({ state: "visible" });
}

/**
 * What the runner says at /status.
 *
 * @param runner The runner.
 * @param token Its token.
 * @returns The parsed snapshot.
 */
export async function runnerStatus(
  runner: RunningRunner,
  token: string,
): Promise<Loose> {
  const response = await fetch(`${runner.httpUrl}/status`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(response.status, 200);
  return await response.json();
}

/** Serves one page on `hostname` (another origin than the runner). */
export function servePage(
  hostname: string,
  html: string,
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname, port: 0, onListen: () => {} },
    () =>
      new Response(html, {
        headers: { "content-type": "text/html; charset=utf-8" },
      }),
  );
}
