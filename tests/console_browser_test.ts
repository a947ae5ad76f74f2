/**
 * The web console in a real headless Chromium against the real runner
 * started with `--console` and `tests/fixtures/console_fixture.ts`: the page
 * loads with `#token=`, lists and calls tools through generated forms, shows
 * progress, renders hostile text as text, streams stderr, and makes no
 * request outside its origin (every request is intercepted).
 *
 * Each pane is screenshotted into the test's temporary folder (removed
 * afterwards; `CONSOLE_SCREENSHOT_DIR=dir` keeps them in `dir`); with
 * `CONSOLE_SCREENSHOT=path.png` the Try it screenshot is also written there
 * (that is how `docs/console.png` is made). Skipped when /usr/bin/chromium
 * is missing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CONSOLE_CSP } from "../lib/front/console.ts";
import {
  HOSTILE_DESCRIPTION,
  HOSTILE_NAME,
  HOSTILE_RESULT,
  HOSTILE_TITLE,
} from "./fixtures/console_fixture.ts";
import { processAlive, startRunner, waitFor } from "./_helpers.ts";
import {
  CONSOLE_FIXTURE as FIXTURE,
  consolePage,
  type Loose,
  newToken,
  NO_CHROMIUM,
  pane,
  runnerStatus,
  screenshot,
  SKIPPED,
  WAIT_MS,
  withBrowser,
} from "./_console_browser.ts";

/** The fixture's stderr line: `stderr line K at T`. */
const STDERR_LINE = /^stderr line (\d+) at (\d+)$/;

Deno.test({
  name:
    `the console loads with #token=, lists and calls tools, shows progress, hostile text as text, live stderr, and nothing leaves the origin${SKIPPED}`,
  ignore: NO_CHROMIUM,
  async fn() {
    const token = newToken();
    await using runner = await startRunner([
      "--console",
      "--",
      ...FIXTURE,
      "--stderr-every-ms",
      "100",
    ], { env: { AUTH_TOKEN: token } });
    const keepDir = Deno.env.get("CONSOLE_SCREENSHOT_DIR");
    const dir = keepDir ??
      await Deno.makeTempDir({ prefix: "console-browser-test-" });
    try {
      await withBrowser(async (browser) => {
        const { page, requests, offOrigin, problems, failures } =
          await consolePage(
            browser,
            runner.httpUrl,
          );
        try {
          // (1) The page loads, with the strict headers; the token leaves the URL.
          const response = await page.goto(
            `${runner.httpUrl}/console#token=${token}`,
          );
          assert.equal(response?.status(), 200);
          const headers = response!.headers();
          assert.equal(headers["content-security-policy"], CONSOLE_CSP);
          assert.equal(headers["x-content-type-options"], "nosniff");
          assert.equal(headers["referrer-policy"], "no-referrer");
          assert.equal(headers["cache-control"], "no-store");
          await page.waitForFunction(() =>
            (globalThis as Loose).document.getElementById("conn")
              .textContent === "connected"
          );
          assert.equal(
            page.url(),
            `${runner.httpUrl}/console`,
            "the fragment is cleared",
          );
          assert.equal(
            await page.evaluate(
              `sessionStorage.getItem("mcp-runner-console-token")`,
            ),
            token,
          );
          await page.locator("#endpoints code", { hasText: "/mcp" }).first()
            .waitFor();
          const config = page.locator("#config-text");
          assert.match(
            await config.textContent() ?? "",
            /"Authorization": "Bearer <token>"/,
          );
          assert.ok(
            !(await config.textContent())?.includes(token),
            "placeholder by default",
          );
          await page.check("#config-token");
          assert.ok(
            (await config.textContent())?.includes(token),
            "the token on request",
          );
          await page.uncheck("#config-token");
          await screenshot(page, dir, "overview");

          // (2) Servers: the server is ready.
          await pane(page, "servers");
          await page.locator('tr[data-server="default"] .badge.ready')
            .waitFor();
          await screenshot(page, dir, "servers");

          // (3) Try it: the tools are listed by the page itself (two pages).
          await pane(page, "try");
          await page.locator("#tool-list button", { hasText: "deep" })
            .waitFor();
          const names = await page.locator("#tool-list button")
            .allTextContents();
          assert.deepEqual(names, [
            "echo",
            "progress",
            "image",
            "deep",
            HOSTILE_NAME,
          ]);

          // (4) A call through the generated form.
          await page.click("#tool-list button >> text=echo");
          await page.fill('#tool-form [name="text"]', "hello console");
          await page.fill('#tool-form [name="times"]', "2");
          await page.check('#tool-form [name="loud"]');
          await page.selectOption('#tool-form [name="mood"]', {
            label: "happy",
          });
          await page.fill('#tool-form [name="tags"]', "a\nb");
          await page.click("#tool-call");
          await page.locator("#tool-result pre.text", {
            hasText: "Echo: HELLO CONSOLE HELLO CONSOLE",
          }).waitFor();
          const structured = JSON.parse(
            await page.locator("#tool-result pre.structured").textContent() ??
              "",
          );
          assert.deepEqual(structured, {
            arguments: {
              text: "hello console",
              times: 2,
              loud: true,
              mood: "happy",
              tags: ["a", "b"],
            },
          });
          assert.match(
            await page.locator("#tool-result .elapsed").textContent() ?? "",
            /^ok · \d+ ms$/,
          );
          const tryShot = await screenshot(page, dir, "try-it");
          const keep = Deno.env.get("CONSOLE_SCREENSHOT");
          if (keep) await Deno.copyFile(tryShot, keep);

          // (5) Progress notifications drive a bar.
          await page.click("#tool-list button >> text=progress");
          await page.fill('#tool-form [name="steps"]', "5");
          await page.fill('#tool-form [name="delayMs"]', "200");
          await page.click("#tool-call");
          await page.waitForFunction(() => {
            const bar = (globalThis as Loose).document.getElementById(
              "tool-progress",
            );
            return bar && !bar.hidden && bar.max === 5 && bar.value >= 1;
          });
          await page.locator("#tool-result pre.text", {
            hasText: "done after 5 steps",
          }).waitFor();
          assert.equal(
            await page.evaluate(
              `document.getElementById("tool-progress").value`,
            ),
            5,
          );
          assert.match(
            await page.locator("#tool-progress-text").textContent() ?? "",
            /^5 \/ 5 — step 5$/,
          );

          // (6) Images only as data: URLs of allowed types.
          await page.click("#tool-list button >> text=image");
          await page.click("#tool-call");
          await page.locator("#tool-result .note", { hasText: "image/svg+xml" })
            .waitFor();
          const sources = await page.evaluate(
            `Array.from(document.querySelectorAll("#tool-result img"), (i) => i.getAttribute("src"))`,
          ) as string[];
          assert.equal(sources.length, 1);
          assert.match(sources[0]!, /^data:image\/png;base64,/);
          // Audio only as a data: URL of audio/* (the CSP allows media data:).
          const audio = page.locator("#tool-result audio");
          assert.equal(await audio.count(), 1);
          assert.match(
            await audio.getAttribute("src") ?? "",
            /^data:audio\/wav;base64,/,
          );
          await page.waitForFunction(() =>
            (globalThis as Loose).document.querySelector("#tool-result audio")
              .readyState >= 1
          );

          // (7) A $ref cycle falls back to a JSON editor.
          await page.click("#tool-list button >> text=deep");
          assert.equal(
            await page.locator('#tool-form textarea.json[name="loop"]').count(),
            1,
          );
          assert.ok(
            await page.locator('#tool-form [name^="tree"]').count() >= 1,
          );

          // (8) Hostile names, descriptions, titles and results stay text.
          await page.click("#tool-list button.tool[data-index='4']");
          await page.locator("#tool-detail h3.tool-name").waitFor();
          assert.equal(
            await page.locator("#tool-detail h3.tool-name").textContent(),
            HOSTILE_NAME,
          );
          assert.equal(
            await page.locator("#tool-detail p.description").textContent(),
            HOSTILE_DESCRIPTION,
          );
          assert.equal(
            await page.locator("#tool-detail p.tool-title").textContent(),
            HOSTILE_TITLE,
          );
          assert.ok(
            (await page.locator("#tool-form .field-title").textContent())
              ?.includes(HOSTILE_TITLE),
          );
          await page.click("#tool-call");
          await page.locator("#tool-result pre.text").first().waitFor();
          assert.equal(
            await page.locator("#tool-result pre.text").first().textContent(),
            HOSTILE_RESULT,
          );
          await page.hover("#tool-detail h3.tool-name");
          await page.hover("#tool-form .field-name");
          const injected = await page.evaluate(`({
            elements: document.querySelectorAll("img, svg, iframe, a, b, i, object, embed").length,
            scripts: Array.from(document.scripts, (s) => s.getAttribute("src")),
            pwned: window.__consolePwned,
          })`) as {
            elements: number;
            scripts: (string | null)[];
            pwned: unknown;
          };
          assert.deepEqual(injected, {
            elements: 0,
            scripts: ["/console/app.js"],
            pwned: undefined,
          });
          await screenshot(page, dir, "try-it-hostile");

          // (9) The raw JSON-RPC box.
          await page.click('#try-tabs button[data-section="try-raw"]');
          await page.fill(
            "#raw-input",
            '{"jsonrpc":"2.0","id":"r1","method":"resources/read","params":{"uri":"fixture://readme"}}',
          );
          await page.click("#raw-send");
          await page.locator("#raw-result pre.text", {
            hasText: "The fixture's readme.",
          }).waitFor();

          // (10) Logs: stderr within a second of being written, in order.
          await page.evaluate(`(() => {
            window.logArrivals = [];
            new MutationObserver((records) => {
              const now = Date.now();
              for (const record of records) {
                for (const node of record.addedNodes) {
                  const text = node.querySelector && node.querySelector(".text");
                  if (text) window.logArrivals.push([text.textContent, now]);
                }
              }
            }).observe(document.getElementById("log-lines"), { childList: true });
          })()`);
          const opened = Date.now();
          await pane(page, "logs");
          await page.waitForFunction(
            (since) =>
              ((globalThis as Loose).logArrivals as [string, number][])
                .filter(([text]) =>
                  Number(/ at (\d+)$/.exec(text)?.[1]) >= since
                )
                .length >= 12,
            opened,
          );
          const arrivals = await page.evaluate("window.logArrivals") as [
            string,
            number,
          ][];
          let last = 0;
          let live = 0;
          for (const [text, arrived] of arrivals) {
            const match = STDERR_LINE.exec(text);
            assert.ok(
              match,
              `a clean fixture line (no ANSI escape): ${JSON.stringify(text)}`,
            );
            const number = Number(match[1]);
            assert.equal(number, last + 1, "in order, none missing");
            last = number;
            const written = Number(match[2]);
            if (written >= opened) {
              live++;
              assert.ok(
                arrived - written < 1000,
                `line ${number} arrived ${
                  arrived - written
                } ms after it was written`,
              );
            }
          }
          assert.ok(live >= 10, `${live} lines written after the pane opened`);
          await screenshot(page, dir, "logs");
          // The child that wrote them (per-session: the Try it session's).
          const pid = Number(
            await page.locator("#log-lines .logline .pid").last().textContent(),
          );
          assert.ok(pid > 0 && processAlive(pid), `pid ${pid}`);
          // Filters, pause and clear.
          await page.selectOption("#logs-level", "3");
          assert.equal(
            await page.locator("#log-lines .logline").count(),
            0,
            "no error lines",
          );
          await page.selectOption("#logs-level", "0");
          await page.check("#logs-pause");
          const paused = await page.locator("#log-lines .logline").count();
          await page.waitForTimeout(400);
          assert.equal(
            await page.locator("#log-lines .logline").count(),
            paused,
            "paused",
          );
          await page.uncheck("#logs-pause");
          await page.fill("#logs-search", "line 1 ");
          assert.deepEqual(
            await page.locator("#log-lines .logline .text").allTextContents()
              .then((t) => t.map((x) => x.split(" at ")[0])),
            ["stderr line 1"],
          );
          await page.fill("#logs-search", "");
          await page.click("#logs-clear");
          assert.ok(
            await page.locator("#log-lines .logline").count() <= 1,
            "cleared",
          );

          // (11) Metrics from /metrics, with the token.
          await pane(page, "metrics");
          await page.locator("#metrics-glance .metric .label", {
            hasText: "live sessions",
          }).waitFor();
          const glance = await page.evaluate(`Object.fromEntries(Array.from(
            document.querySelectorAll("#metrics-glance .metric"),
            (m) => [m.querySelector(".label").textContent, Number(m.querySelector(".value").textContent)]))`) as Record<
            string,
            number
          >;
          assert.equal(glance["live sessions"], 1);
          assert.ok(
            glance["messages from clients"]! >= 5,
            JSON.stringify(glance),
          );
          await screenshot(page, dir, "metrics");

          // (12) Sessions: the console's own; ending it stops its child.
          await pane(page, "sessions");
          const row = page.locator("#sessions-table tr[data-session]");
          await row.first().waitFor();
          assert.equal(await row.count(), 1);
          assert.match(
            await row.first().textContent() ?? "",
            /streamable-http.*mcp-server-runner-console 1/,
          );
          await screenshot(page, dir, "sessions");
          await row.first().locator("button", { hasText: "End session" })
            .click();
          await page.locator("#notice", { hasText: "End session" }).waitFor();
          assert.doesNotMatch(
            await page.locator("#notice").textContent() ?? "",
            /HTTP|Cannot|Not Found/,
          );
          assert.ok(
            await waitFor(() => !processAlive(pid), WAIT_MS),
            "the child stopped",
          );
          await page.locator("#sessions-table p.empty").waitFor();

          // (13) Disconnect sends DELETE: no session is left behind.
          await pane(page, "try");
          await page.click("#try-disconnect");
          await page.locator("#try-status", { hasText: "not connected" })
            .waitFor();
          await page.click("#try-connect");
          await page.locator("#try-status.ok").waitFor();
          assert.equal(
            (await runnerStatus(runner, token)).servers[0].sessions.length,
            1,
          );
          await page.click("#try-disconnect");
          let left = 1;
          for (let i = 0; i < 100 && left > 0; i++) {
            left =
              (await runnerStatus(runner, token)).servers[0].sessions.length;
            if (left > 0) {
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
          }
          assert.equal(left, 0, "the DELETE ended the session");

          // (14) The API from the page without the token: 401.
          const anonymous = await page.evaluate(
            `fetch("/console/api/status").then((r) => r.status)`,
          );
          assert.equal(anonymous, 401);

          assert.deepEqual(offOrigin, [], "no request leaves the origin");
          assert.ok(requests.length > 10);
          for (const url of requests) {
            assert.ok(!url.includes(token), `token in a URL: ${url}`);
          }
          // The only failed requests: the DELETE of the session ended from
          // the Sessions pane (gone already), and (14)'s anonymous call.
          assert.deepEqual(failures, [
            "DELETE /mcp 404",
            "GET /console/api/status 401",
          ]);
          assert.deepEqual(
            problems.filter((p) => !/status of (401|404)/.test(p)),
            [],
            "no script error, no CSP violation",
          );
          assert.equal(await page.evaluate("window.__consolePwned"), undefined);
        } finally {
          await page.close();
        }
      });
      assert.ok(!runner.stderr().includes(token), "the token is never logged");
    } finally {
      if (keepDir === undefined) await Deno.remove(dir, { recursive: true });
    }
  },
});
