/**
 * Access to the web console's API, with the real runner: no token is 401, a
 * foreign Origin is 403, state changes need `X-MCP-Runner-Console: 1` and a
 * JSON body type, a cross-site form POST in headless Chromium is refused;
 * without `--console`, `/console` answers as any other path does.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CONSOLE_CSP } from "../lib/front/console.ts";
import { startRunner } from "./_helpers.ts";
import {
  CONSOLE_FIXTURE as FIXTURE,
  type Loose,
  newToken,
  NO_CHROMIUM,
  runnerStatus,
  servePage,
  SKIPPED,
  WAIT_MS,
  withBrowser,
} from "./_console_browser.ts";

Deno.test({
  name:
    `the console's API: no token is 401, a foreign Origin is 403, a cross-site form POST to restart is refused, CSRF headers are required${SKIPPED}`,
  ignore: NO_CHROMIUM,
  async fn() {
    const token = newToken();
    await using runner = await startRunner(
      ["--console", "--child-mode", "shared", "--", ...FIXTURE],
      { env: { AUTH_TOKEN: token } },
    );
    const restart = `${runner.httpUrl}/console/api/servers/default/restart`;
    const auth = { authorization: `Bearer ${token}` };
    // No token: 401 from every API path; the page files need none.
    for (
      const path of [
        "/status",
        "/console/api/status",
        "/console/api/logs?server=default",
      ]
    ) {
      const response = await fetch(`${runner.httpUrl}${path}`);
      assert.equal(response.status, 401, path);
      await response.body?.cancel();
    }
    const noToken = await fetch(restart, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-mcp-runner-console": "1",
      },
      body: "{}",
    });
    assert.equal(noToken.status, 401);
    await noToken.body?.cancel();
    const page = await fetch(`${runner.httpUrl}/console/app.js`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-security-policy"), CONSOLE_CSP);
    await page.body?.cancel();
    // A foreign Origin: 403, even with the token.
    for (const path of ["/console/api/status", "/console/app.js"]) {
      const response = await fetch(`${runner.httpUrl}${path}`, {
        headers: { ...auth, origin: "http://evil.example" },
      });
      assert.equal(response.status, 403, path);
      await response.body?.cancel();
    }
    // The token alone is not enough to change state: the custom header and
    // the JSON type are required.
    for (
      const [headers, status] of [
        [{ ...auth, "content-type": "application/x-www-form-urlencoded" }, 403],
        [
          {
            ...auth,
            "content-type": "text/plain",
            "x-mcp-runner-console": "1",
          },
          415,
        ],
      ] as const
    ) {
      const response = await fetch(restart, {
        method: "POST",
        headers,
        body: "a=1",
      });
      assert.equal(response.status, status);
      assert.equal(
        response.headers.get("content-security-policy"),
        CONSOLE_CSP,
      );
      const body = await response.json();
      assert.equal(body.jsonrpc, "2.0");
      assert.equal(typeof body.error.message, "string");
    }
    assert.equal((await runnerStatus(runner, token)).servers[0].restarts, 0);

    // A cross-site form in a real browser: refused, nothing restarted.
    await using evil = servePage(
      "127.0.0.2",
      `<!doctype html><form method="post" enctype="text/plain" action="${restart}"><input name='{"a":"' value='"}'></form>`,
    );
    await withBrowser(async (browser) => {
      const tab = await browser.newPage();
      tab.setDefaultTimeout(WAIT_MS);
      try {
        await tab.goto(`http://127.0.0.2:${evil.addr.port}/`);
        const [answer] = await Promise.all([
          tab.waitForResponse((r) => r.url() === restart),
          tab.evaluate(() => (globalThis as Loose).document.forms[0].submit()),
        ]);
        assert.equal(answer.status(), 403, "the Origin check refuses it");
        assert.match(await answer.text(), /Origin/);
      } finally {
        await tab.close();
      }
    });
    const after = await runnerStatus(runner, token);
    assert.equal(after.servers[0].restarts, 0, "nothing was restarted");
    assert.ok(!runner.stderr().includes(token), "the token is never logged");
  },
});

Deno.test({
  name:
    "without --console, /console answers as any other path does today (426), and /status is still served",
  async fn() {
    const token = newToken();
    await using runner = await startRunner(["--", ...FIXTURE], {
      env: { AUTH_TOKEN: token },
    });
    const auth = { authorization: `Bearer ${token}` };
    const other = await fetch(`${runner.httpUrl}/not-the-console`, {
      headers: auth,
    });
    const otherBody = await other.text();
    assert.equal(other.status, 426);
    for (
      const path of [
        "/console",
        "/console/",
        "/console/app.js",
        "/console/api/status",
      ]
    ) {
      const response = await fetch(`${runner.httpUrl}${path}`, {
        headers: auth,
      });
      assert.equal(response.status, 426, path);
      assert.equal(await response.text(), otherBody, path);
      assert.equal(response.headers.get("content-security-policy"), null, path);
      // Without the token: the same 401 as everywhere.
      const anonymous = await fetch(`${runner.httpUrl}${path}`);
      assert.equal(anonymous.status, 401, path);
      await anonymous.body?.cancel();
    }
    const status = await runnerStatus(runner, token);
    assert.equal(status.console, false);
    assert.equal(status.servers[0].name, "default");
  },
});
