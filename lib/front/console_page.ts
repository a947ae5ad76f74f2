/**
 * The web console's page as strings: the HTML of `/console`, its style
 * (`/console/app.css`) and its script (`/console/app.js`, in
 * `console_script.ts`). No CDN, no fonts, no framework, no build step; the
 * HTML has no inline script or style, as the console's
 * Content-Security-Policy requires.
 *
 * @module
 */

import { CONSOLE_JS } from "./console_script.ts";

export { CONSOLE_JS };

/** The page served at `/console`. */
export const CONSOLE_HTML: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>mcp-server-runner console</title>
<link rel="stylesheet" href="/console/app.css">
<script src="/console/app.js" defer></script>
</head>
<body>
<header>
  <h1>mcp-server-runner</h1>
  <span id="summary">loading…</span>
  <span id="conn"></span>
  <button type="button" id="token-forget" class="small">forget token</button>
</header>
<div id="token-bar" class="bar" hidden>
  <label>This runner needs its bearer token:
    <input id="token-input" type="password" autocomplete="off" size="40"></label>
  <button type="button" id="token-use" class="primary">Use token</button>
  <span class="hint">It is kept in this tab's sessionStorage and sent as an Authorization header, never in a URL.</span>
</div>
<p id="notice" hidden></p>
<nav>
  <button type="button" data-pane="overview">Overview</button>
  <button type="button" data-pane="servers">Servers</button>
  <button type="button" data-pane="sessions">Sessions</button>
  <button type="button" data-pane="try">Try it</button>
  <button type="button" data-pane="logs">Logs</button>
  <button type="button" data-pane="metrics">Metrics</button>
</nav>
<main>
<section id="pane-overview">
  <h2>Runner</h2>
  <dl id="runner-facts" class="facts"></dl>
  <h2>Endpoints</h2>
  <div id="endpoints"></div>
  <h2>Client configuration</h2>
  <div class="row">
    <label>Server <select id="config-server"></select></label>
    <label>Client <select id="config-client">
      <option value="claude">Claude Code</option>
      <option value="vscode">VS Code</option>
      <option value="cursor">Cursor</option>
      <option value="inspector">MCP Inspector CLI</option>
    </select></label>
    <label class="check"><input type="checkbox" id="config-token"> include token</label>
    <button type="button" id="config-copy">copy</button>
  </div>
  <pre id="config-text" class="config"></pre>
</section>
<section id="pane-servers" hidden>
  <div class="row"><h2>Servers</h2><button type="button" id="reload" hidden>Reload config file</button></div>
  <p id="config-error" class="error" hidden></p>
  <div id="servers-table" class="scroll"></div>
</section>
<section id="pane-sessions" hidden>
  <div class="row"><h2>Sessions</h2><span id="sessions-count"></span></div>
  <div id="sessions-table" class="scroll"></div>
</section>
<section id="pane-try" hidden>
  <div class="row">
    <h2>Try it</h2>
    <label>Server <select id="try-server"></select></label>
    <button type="button" id="try-connect">Connect</button>
    <button type="button" id="try-disconnect">Disconnect</button>
    <span id="try-status">not connected</span>
  </div>
  <p class="hint">This page opens its own Streamable HTTP session to the server. In per-session mode that starts a server process, which counts toward --max-sessions and ends when you disconnect, switch servers or leave the page.</p>
  <div id="try-body" hidden>
    <div id="try-tabs" class="tabs">
      <button type="button" class="chosen" data-section="try-tools">Tools <span id="tool-count"></span></button>
      <button type="button" data-section="try-resources">Resources</button>
      <button type="button" data-section="try-prompts">Prompts</button>
      <button type="button" data-section="try-raw">Raw JSON-RPC</button>
      <button type="button" id="try-ping">Ping</button>
    </div>
    <div id="try-tools" class="try-section split">
      <ul id="tool-list" class="list"></ul>
      <div id="tool-detail" class="detail"></div>
    </div>
    <div id="try-resources" class="try-section" hidden>
      <ul id="resource-list" class="list wide"></ul>
      <div id="resource-result" class="result"></div>
    </div>
    <div id="try-prompts" class="try-section split" hidden>
      <ul id="prompt-list" class="list"></ul>
      <div id="prompt-detail" class="detail"></div>
    </div>
    <div id="try-raw" class="try-section" hidden>
      <textarea id="raw-input" rows="6" spellcheck="false">{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}</textarea>
      <div class="row"><button type="button" id="raw-send" class="primary">Send</button><select id="raw-history"></select></div>
    </div>
    <div id="raw-result" class="result"></div>
  </div>
</section>
<section id="pane-logs" hidden>
  <div class="row">
    <h2>Logs</h2>
    <label>Server <select id="logs-server"></select></label>
    <label>Level <select id="logs-level">
      <option value="0">all</option>
      <option value="1">info and above</option>
      <option value="2">warnings and errors</option>
      <option value="3">errors</option>
    </select></label>
    <label>Search <input id="logs-search" type="search"></label>
    <label class="check"><input type="checkbox" id="logs-pause"> pause</label>
    <button type="button" id="logs-clear">Clear</button>
    <span id="logs-status"></span>
  </div>
  <p class="hint">The server's stderr, live (the runner keeps its last 2000 lines).</p>
  <div id="log-lines" class="log"></div>
</section>
<section id="pane-metrics" hidden>
  <div class="row"><h2>Metrics</h2><span id="metrics-status"></span></div>
  <div id="metrics-glance" class="glance"></div>
  <details><summary>every series of /metrics</summary><div id="metrics-table" class="scroll"></div></details>
</section>
</main>
</body>
</html>
`;

/** The console's style sheet. */
export const CONSOLE_CSS: string = `:root {
  --fg: #1d2329; --muted: #5f6b76; --line: #d8dee4; --bg: #ffffff;
  --soft: #f4f6f8; --accent: #0b5fff; --good: #13795b; --bad: #c62828; --warn: #a15c00;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e9ec; --muted: #9aa5b1; --line: #38414a; --bg: #15191d; --soft: #1f252b; --accent: #6ea0ff; --good: #4cc38a; --bad: #ff6b6b; --warn: #e0a040; }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1em; align-items: baseline; flex-wrap: wrap; padding: .7em 1.2em; border-bottom: 1px solid var(--line); background: var(--soft); }
h1 { font-size: 1.15em; margin: 0; }
h2 { font-size: 1.05em; margin: 1em 0 .5em; }
h3 { font-size: 1em; margin: .6em 0 .3em; overflow-wrap: anywhere; }
#summary { color: var(--muted); }
#conn.good { color: var(--good); }
#conn.bad, .error { color: var(--bad); }
.ok { color: var(--good); }
.busy, .hint, .empty, .note { color: var(--muted); }
.hint { font-size: .9em; }
nav { display: flex; gap: .2em; padding: .4em 1.2em 0; border-bottom: 1px solid var(--line); }
nav button, .tabs button { border: 1px solid transparent; border-bottom: none; background: none; padding: .45em .9em; border-radius: 6px 6px 0 0; cursor: pointer; color: var(--fg); font: inherit; }
nav button.chosen, .tabs button.chosen { border-color: var(--line); background: var(--bg); margin-bottom: -1px; font-weight: 600; }
main { padding: .4em 1.2em 2em; }
button { font: inherit; cursor: pointer; padding: .25em .7em; border: 1px solid var(--line); border-radius: 5px; background: var(--soft); color: var(--fg); }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button:disabled { opacity: .6; cursor: wait; }
button.small, button.copy { font-size: .85em; padding: .1em .5em; }
input, select, textarea { font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: .2em .4em; }
textarea { width: 100%; font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .9em; }
code, pre, .log { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .9em; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 5px; padding: .6em .8em; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 30em; overflow: auto; margin: .4em 0; }
.row { display: flex; gap: .8em; align-items: center; flex-wrap: wrap; margin: .4em 0; }
.row h2 { margin-right: .5em; }
.bar { padding: .6em 1.2em; background: #fff4d6; color: #1d2329; border-bottom: 1px solid var(--line); display: flex; gap: .8em; align-items: center; flex-wrap: wrap; }
#notice { margin: .5em 1.2em 0; padding: .4em .8em; border-radius: 5px; background: var(--soft); }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(14em, 1fr)); gap: .4em 1.2em; margin: 0; }
.facts div { border-left: 3px solid var(--line); padding-left: .6em; }
dt { color: var(--muted); font-size: .85em; }
dd { margin: 0; overflow-wrap: anywhere; }
.endpoint { border: 1px solid var(--line); border-radius: 6px; padding: .3em .9em .6em; margin: .5em 0; }
.url { display: flex; gap: .6em; align-items: center; margin: .2em 0; flex-wrap: wrap; }
.url .label { width: 9em; color: var(--muted); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
th { color: var(--muted); font-weight: 600; font-size: .85em; }
.badge { display: inline-block; padding: 0 .5em; border-radius: 1em; font-size: .85em; background: var(--soft); border: 1px solid var(--line); }
.badge.ready { color: var(--good); border-color: var(--good); }
.badge.starting, .badge.restarting { color: var(--warn); border-color: var(--warn); }
.badge.failed, .badge.removed { color: var(--bad); border-color: var(--bad); }
.reason { color: var(--muted); font-size: .85em; }
.split { display: grid; grid-template-columns: minmax(12em, 18em) 1fr; gap: 1.2em; margin-top: .6em; }
.list { list-style: none; margin: 0; padding: 0; border-right: 1px solid var(--line); max-height: 70vh; overflow: auto; }
.list.wide { border-right: none; }
.list li { margin: .15em 0; }
.list button { width: 100%; text-align: left; border: none; background: none; overflow-wrap: anywhere; }
.list button.chosen { background: var(--soft); font-weight: 600; }
.tabs { display: flex; gap: .2em; border-bottom: 1px solid var(--line); margin-top: .4em; }
.description { white-space: pre-wrap; overflow-wrap: anywhere; color: var(--muted); }
.fields { display: grid; gap: .6em; margin: .6em 0; }
.field { display: grid; gap: .2em; }
.field.check { display: flex; gap: .5em; align-items: center; flex-direction: row-reverse; justify-content: flex-end; }
fieldset.field { border: 1px solid var(--line); border-radius: 5px; padding: .4em .8em; }
.field-name { font-weight: 600; font-family: ui-monospace, Menlo, Consolas, monospace; }
.field-title { color: var(--muted); }
.field-description { display: block; color: var(--muted); font-size: .85em; }
.required { color: var(--bad); }
.actions { display: flex; gap: .8em; align-items: center; margin: .6em 0; }
progress { width: 14em; }
.result { margin: .6em 0; }
.result img.image { max-width: 100%; max-height: 24em; border: 1px solid var(--line); border-radius: 4px; }
.elapsed { font-weight: 600; margin: .3em 0; }
.link, .role, .label { color: var(--muted); font-size: .9em; margin: .3em 0; overflow-wrap: anywhere; }
.log { border: 1px solid var(--line); border-radius: 5px; background: var(--soft); height: 60vh; overflow: auto; padding: .3em 0; }
.logline { display: grid; grid-template-columns: 8.5em 5em 1fr; gap: .6em; padding: 0 .6em; white-space: pre-wrap; overflow-wrap: anywhere; }
.logline .time, .logline .pid { color: var(--muted); }
.logline.level-3 .text { color: var(--bad); }
.logline.level-2 .text { color: var(--warn); }
.logline.level-0 .text { color: var(--muted); }
.glance { display: grid; grid-template-columns: repeat(auto-fill, minmax(11em, 1fr)); gap: .8em; margin: .6em 0 1em; }
.metric { border: 1px solid var(--line); border-radius: 6px; padding: .6em .8em; display: grid; }
.metric .value { font-size: 1.4em; font-weight: 600; }
.metric .label { color: var(--muted); font-size: .85em; }
@media (max-width: 720px) { .split { grid-template-columns: 1fr; } .list { border-right: none; } }
`;
