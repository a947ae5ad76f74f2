/**
 * The web console with several servers and real servers, in headless
 * Chromium: a config file with a shared and a per-session server (Restart
 * goes through restarting to ready with the count up; Reload; Try it on
 * either), and `@modelcontextprotocol/server-everything` without a token
 * (echo from the form, progress, an image; Disconnect stops the child).
 *
 * @module
 */

import assert from "node:assert/strict";
import { processesMatching, startRunner, waitFor } from "./_helpers.ts";
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

Deno.test({
  name:
    `with a config file: every server is shown, a shared server's Restart goes through restarting to ready with the count up, reload works${SKIPPED}`,
  ignore: NO_CHROMIUM,
  async fn() {
    const token = newToken();
    const dir = await Deno.makeTempDir({ prefix: "console-config-test-" });
    try {
      const file = `${dir}/mcp.json`;
      const entry = (name: string, mode: string) => ({
        command: FIXTURE[0],
        args: [...FIXTURE.slice(1), "--name", name],
        runner: { mode },
      });
      await Deno.writeTextFile(
        file,
        JSON.stringify({
          mcpServers: {
            alpha: entry("alpha", "shared"),
            beta: entry("beta", "per-session"),
          },
        }),
      );
      await using runner = await startRunner(["--console", "--config", file], {
        env: { AUTH_TOKEN: token },
      });
      await withBrowser(async (browser) => {
        const { page, offOrigin, problems, failures } = await consolePage(
          browser,
          runner.httpUrl,
        );
        try {
          await page.goto(
            `${runner.httpUrl}/console#token=${token}&pane=servers`,
          );
          const alpha = page.locator('tr[data-server="alpha"]');
          const beta = page.locator('tr[data-server="beta"]');
          await alpha.locator(".badge.ready").waitFor();
          await beta.locator(".badge.ready").waitFor();
          assert.equal(await alpha.locator("button.restart").count(), 1);
          assert.equal(
            await beta.locator("button.restart").count(),
            0,
            "per-session: no restart",
          );
          assert.equal(await page.locator("#reload").isVisible(), true);
          assert.equal(await alpha.locator(".restarts").textContent(), "0");

          // Restart, watching the states at /status meanwhile.
          const seen: string[] = [];
          let watching = true;
          const watcher = (async () => {
            const deadline = Date.now() + WAIT_MS;
            while (watching && Date.now() < deadline) {
              const state = (await runnerStatus(runner, token)).servers[0];
              const text = `${state.state} ${state.restarts}`;
              if (seen.at(-1) !== text) seen.push(text);
              if (state.state === "ready" && state.restarts === 1) break;
              await new Promise((resolve) => setTimeout(resolve, 10));
            }
          })();
          await alpha.locator("button.restart").click();
          await page.locator("#notice.ok", { hasText: "Restart alpha" })
            .waitFor();
          await page.waitForFunction(() => {
            const row = (globalThis as Loose).document.querySelector(
              'tr[data-server="alpha"]',
            );
            return row?.querySelector(".restarts")?.textContent === "1" &&
              row?.querySelector(".badge")?.textContent === "ready";
          });
          await watcher;
          watching = false;
          assert.equal(seen.at(-1), "ready 1", seen.join(", "));
          assert.ok(
            seen.some((s) => /^(restarting|starting) /.test(s)),
            `a restarting state was shown: ${seen.join(", ")}`,
          );

          // Reload: the same file, nothing changes.
          await page.click("#reload");
          await page.locator("#notice", { hasText: "Reload the config file" })
            .waitFor();
          assert.doesNotMatch(
            await page.locator("#notice").getAttribute("class") ?? "",
            /error/,
          );
          await screenshot(page, dir, "servers-config");

          // Try it and Logs offer every server; beta answers as beta.
          await pane(page, "try");
          assert.deepEqual(
            await page.locator("#try-server option").allTextContents(),
            ["alpha", "beta"],
          );
          await page.locator("#try-status.ok", { hasText: "alpha" }).waitFor();
          await page.selectOption("#try-server", "beta");
          await page.locator("#try-status.ok", { hasText: "connected to beta" })
            .waitFor();
          await page.locator("#tool-list button", { hasText: "echo" })
            .waitFor();
          assert.deepEqual(offOrigin, []);
          assert.deepEqual(failures, [], "no request failed");
          assert.deepEqual(problems, []);
        } finally {
          await page.close();
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const EVERYTHING = "npm:@modelcontextprotocol/server-everything@2026.8.31";

Deno.test({
  name:
    `with server-everything and no token (loopback): Try it calls echo from the form, shows progress and an image; Disconnect stops the child${SKIPPED}`,
  ignore: NO_CHROMIUM,
  async fn() {
    const cached = await new Deno.Command(Deno.execPath(), {
      args: ["cache", EVERYTHING],
      stdout: "null",
      stderr: "null",
    }).output();
    assert.ok(cached.success, `deno cache ${EVERYTHING}`);
    await using runner = await startRunner([
      "--console",
      "--",
      Deno.execPath(),
      "run",
      "-A",
      EVERYTHING,
      "stdio",
    ]);
    // The runner's own command line names the server too: counted before.
    const before = new Set(processesMatching("server-everything"));
    const fresh = () =>
      processesMatching("server-everything").filter((pid) => !before.has(pid));
    await withBrowser(async (browser) => {
      const { page, offOrigin, problems } = await consolePage(
        browser,
        runner.httpUrl,
      );
      try {
        await page.goto(`${runner.httpUrl}/console#pane=servers`);
        await page.locator('tr[data-server="default"] .badge.ready').waitFor();
        assert.equal(
          await page.locator("#token-bar").isVisible(),
          false,
          "no token needed",
        );
        await pane(page, "try");
        await page.locator("#tool-list button", {
          hasText: "trigger-long-running-operation",
        }).waitFor();
        assert.equal(
          fresh().length,
          1,
          "the console's session started one child",
        );

        await page.click("#tool-list button.tool >> text=/^echo$/");
        await page.fill('#tool-form [name="message"]', "from the console");
        await page.click("#tool-call");
        await page.locator("#tool-result pre.text", {
          hasText: "Echo: from the console",
        }).waitFor();

        await page.click(
          "#tool-list button >> text=trigger-long-running-operation",
        );
        await page.fill('#tool-form [name="duration"]', "1");
        await page.fill('#tool-form [name="steps"]', "4");
        await page.click("#tool-call");
        await page.waitForFunction(() => {
          const bar = (globalThis as Loose).document.getElementById(
            "tool-progress",
          );
          return bar && !bar.hidden && bar.max === 4 && bar.value >= 1;
        });
        await page.locator("#tool-result .elapsed.ok").waitFor();

        await page.click("#tool-list button >> text=get-tiny-image");
        await page.click("#tool-call");
        await page.locator("#tool-result img.image").waitFor();
        assert.match(
          await page.locator("#tool-result img.image").getAttribute("src") ??
            "",
          /^data:image\/png;base64,/,
        );

        await page.click("#try-disconnect");
        assert.ok(
          await waitFor(() => fresh().length === 0, WAIT_MS),
          "the child stopped",
        );
        assert.deepEqual(offOrigin, []);
        assert.deepEqual(problems, []);
      } finally {
        await page.close();
      }
    });
  },
});
