/**
 * The config-file reader in-process: JSON with comments, `${…}` expansion,
 * the entry fields and the `runner` object, and the shipped example
 * `deploy/servers.json`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseJsonc } from "../lib/config/jsonc.ts";
import { expand, ExpandError } from "../lib/config/expand.ts";
import { readServerFile } from "../lib/config/server_file.ts";
import { ConfigError } from "../lib/config/types.ts";
import { ROOT } from "./_helpers.ts";

/** A parsed value with ordinary prototypes, to compare. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

const CONTEXT = {
  vars: { HOME: "/home/u", TOKEN: "t0k", EMPTY: "" },
  userHome: "/home/u",
  workspaceFolder: "/work/proj",
  pathSeparator: "/",
};

const OPTIONS = {
  vars: { PATH: "/bin", HOME: "/home/u", TOKEN: "t0k", PORT: "8080" },
  cleanEnv: false,
  passEnv: [],
  assignments: [],
  readFile: (path: string) =>
    path === "/cfg/.env.github" ? "FROM_FILE=1\nGITHUB=ghp\n" : undefined,
  userHome: "/home/u",
};

Deno.test("parseJsonc: comments, trailing commas, a BOM; duplicate keys and bad syntax name where", () => {
  assert.deepEqual(
    plain(
      parseJsonc('\ufeff{ // c\n "a": [1, 2,], /* x */ "b": {"c": "//no"}, }'),
    ),
    { a: [1, 2], b: { c: "//no" } },
  );
  assert.throws(
    () => parseJsonc('{"a": 1,\n "a": 2}'),
    /duplicate key a at line 2/,
  );
  assert.throws(
    () => parseJsonc('{"a": }'),
    /unexpected "}" at line 1, column 7/,
  );
  assert.throws(() => parseJsonc('{"a": 1} x'), /unexpected text/);
  assert.throws(() => parseJsonc("[".repeat(100)), /nesting deeper than 64/);
  // A "__proto__" key is data, not a prototype.
  const value = parseJsonc('{"__proto__": {"polluted": true}}') as Record<
    string,
    unknown
  >;
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(Object.keys(value), ["__proto__"]);
});

Deno.test("expand: the Claude Code and VS Code forms; bare $NAME and $${ stay literal; unset names fail", () => {
  assert.equal(expand("${TOKEN}/${env:HOME}", CONTEXT), "t0k//home/u");
  assert.equal(expand("${MISSING:-fall back}", CONTEXT), "fall back");
  assert.equal(expand("${EMPTY:-d}", CONTEXT), "d", "empty counts as unset");
  assert.equal(
    expand(
      "${userHome}|${workspaceFolder}|${workspaceFolderBasename}|${/}",
      CONTEXT,
    ),
    "/home/u|/work/proj|proj|/",
  );
  assert.equal(
    expand("$HOME $1 $${TOKEN} ${not a name}", CONTEXT),
    "$HOME $1 ${TOKEN} ${not a name}",
  );
  assert.throws(() => expand("${MISSING}", CONTEXT), (error: unknown) => {
    assert.ok(error instanceof ExpandError);
    assert.equal(error.message, "references unset variable MISSING");
    return true;
  });
  assert.throws(() => expand("${EMPTY}", CONTEXT), /unset variable EMPTY/);
  assert.throws(() => expand("${input:pat}", CONTEXT), /editor prompt/);
});

Deno.test("readServerFile: fields, env precedence, null removes, relative paths, runner options, skipped and failed entries", () => {
  const file = readServerFile(
    "/cfg/mcp.json",
    JSON.stringify({
      inputs: [{ id: "pat", type: "promptString" }],
      runner: { mode: "shared" },
      mcpServers: {
        github: {
          command: "./bin/server",
          args: ["--token", "${TOKEN}", ""],
          env: { GITHUB: "${TOKEN}", HOME: null },
          envFile: ".env.github",
          cwd: "sub",
          autoApprove: ["x"],
          runner: { maxSessions: 2, mode: "per-session" },
        },
        vs: { command: "x", env: { PAT: "${input:pat}" } },
        web: { type: "sse", url: "https://x.invalid/sse" },
        off: { command: "x", disabled: true },
      },
    }),
    OPTIONS,
  );
  const [github, vs, web, off] = file.servers;
  assert.equal(github!.state, "ok");
  assert.equal(github!.program, "/cfg/sub/bin/server", "relative to cwd");
  assert.deepEqual(github!.args, ["--token", "t0k", ""]);
  assert.equal(github!.cwd, "/cfg/sub");
  assert.equal(github!.env.GITHUB, "t0k", "env wins over envFile");
  assert.equal(github!.env.FROM_FILE, "1");
  assert.equal(github!.env.HOME, undefined, "null removes");
  assert.equal(github!.env.PATH, "/bin");
  assert.equal(
    github!.env.PORT,
    undefined,
    "the runner's own variables stay out",
  );
  assert.deepEqual(github!.envKeys.sort(), ["FROM_FILE", "GITHUB", "HOME"]);
  assert.deepEqual(github!.runner, { mode: "per-session", maxSessions: 2 });
  assert.equal(vs!.state, "failed");
  assert.match(vs!.reason!, /server vs: env\.PAT references the editor prompt/);
  assert.deepEqual(vs!.runner, { mode: "shared" }, "top-level default");
  assert.equal(web!.state, "disabled");
  assert.match(
    file.warnings[0]!,
    /Server web is a remote server \(type "sse"\)/,
  );
  assert.equal(off!.state, "disabled");
  assert.match(file.notes[0]!, /Server github: ignoring "autoApprove"/);
  assert.ok(!JSON.stringify(file.servers.map((s) => s.reason)).includes("t0k"));
});

Deno.test("readServerFile: wrong types and names are errors naming the path", () => {
  const cases: [unknown, RegExp][] = [
    [[], /the top level must be an object/],
    [{}, /neither "mcpServers"/],
    [{ servers: {} }, /servers names no server/],
    [{ mcpServers: { a: { args: [] } } }, /mcpServers\.a\.command is required/],
    [
      { mcpServers: { a: { command: 1 } } },
      /mcpServers\.a\.command must be a string/,
    ],
    [
      { mcpServers: { a: { command: "x", env: { "A-B": "1" } } } },
      /mcpServers\.a\.env\.A-B: not a valid variable name/,
    ],
    [{ mcpServers: { a__b: { command: "x" } } }, /no "__"/],
    [
      { mcpServers: { a: { command: "x", runner: { prewarm: 99 } } } },
      /runner\.prewarm must be an integer from 0 to 64/,
    ],
    [
      { mcpServers: { a: { command: "x", runner: { bogus: 1 } } } },
      /runner\.bogus is not a runner option/,
    ],
    [
      { runner: { defaultServer: "zz" }, mcpServers: { a: { command: "x" } } },
      /runner\.defaultServer names no server/,
    ],
  ];
  for (const [value, expected] of cases) {
    assert.throws(
      () => readServerFile("/cfg/f.json", JSON.stringify(value), OPTIONS),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(
          error.message,
          /^Cannot read the config file "\/cfg\/f\.json": /,
        );
        assert.match(error.message, expected);
        return true;
      },
    );
  }
});

Deno.test("deploy/servers.json loads: three servers, github failed without GITHUB_TOKEN", async () => {
  const path = `${ROOT}deploy/servers.json`;
  const text = await Deno.readTextFile(path);
  const file = readServerFile(path, text, {
    ...OPTIONS,
    vars: { PATH: "/bin" },
  });
  assert.deepEqual(file.servers.map((s) => [s.name, s.state]), [
    ["filesystem", "ok"],
    ["memory", "ok"],
    ["github", "failed"],
  ]);
  assert.equal(file.defaultServer, "filesystem");
  assert.deepEqual(file.servers[0]!.args, [
    "-y",
    "@modelcontextprotocol/server-filesystem",
    "/data",
  ]);
  const withToken = readServerFile(path, text, {
    ...OPTIONS,
    vars: { PATH: "/bin", GITHUB_TOKEN: "ghp_x" },
  });
  assert.equal(withToken.servers[2]!.env.GITHUB_PERSONAL_ACCESS_TOKEN, "ghp_x");
});
