/**
 * The web console's script (`/console/app.js`), as a string: plain browser
 * JavaScript, no framework, no build step. Everything a server supplies is
 * put into the page with `textContent` or attribute setters, never as HTML.
 *
 * The script is one function scope written in three modules: this one (DOM
 * helpers, the token, status polling, the overview, servers and sessions,
 * panes), `console_try_script.ts` (the Try it pane's MCP session) and
 * `console_view_script.ts` (forms from JSON Schema, results, logs, metrics).
 * They are written without template literals, so that they can live in raw
 * strings.
 *
 * @module
 */

import { CONSOLE_TRY_JS } from "./console_try_script.ts";
import { CONSOLE_VIEW_JS } from "./console_view_script.ts";

/** The console page's script. */
export const CONSOLE_JS: string = String.raw`"use strict";
(() => {
const TOKEN_KEY = "mcp-runner-console-token";
const HISTORY_KEY = "mcp-runner-console-history";
const PROTOCOL_VERSION = "2025-11-25";
const POLL_MS = 2000;
const REQUEST_TIMEOUT_MS = 60000;
const MAX_TEXT = 100000;
const MAX_LOG_ROWS = 2000;
const MAX_DEPTH = 3;
const MAX_PAGES = 50;
const MAX_ROWS = 500;
const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

// ----- DOM helpers: text only, never HTML ---------------------------------

const PROPS = new Set(["value", "checked", "disabled", "hidden", "selected", "multiple"]);

function $(id) {
  return document.getElementById(id);
}

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (PROPS.has(key)) node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === "string" ? child : child);
  }
  return node;
}

/** replaceChildren without the null and undefined entries (it would show them as text). */
function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
}

function clip(text, max) {
  text = String(text);
  return text.length <= max ? text : text.slice(0, max) + "\u2026 (" + text.length + " characters)";
}

function ago(seconds) {
  if (typeof seconds !== "number" || !isFinite(seconds)) return "\u2014";
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return seconds + " s";
  if (seconds < 3600) return Math.floor(seconds / 60) + " min " + (seconds % 60) + " s";
  const hours = Math.floor(seconds / 3600);
  if (hours < 48) return hours + " h " + Math.floor((seconds % 3600) / 60) + " min";
  return Math.floor(hours / 24) + " d " + (hours % 24) + " h";
}

function clock(iso) {
  const date = new Date(iso);
  if (isNaN(date.getTime())) return String(iso);
  return date.toLocaleTimeString([], { hour12: false }) + "." +
    String(date.getMilliseconds()).padStart(3, "0");
}

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function pretty(value) {
  try {
    return clip(JSON.stringify(value, null, 2), MAX_TEXT);
  } catch (error) {
    return String(error);
  }
}

function notice(text, kind) {
  const node = $("notice");
  node.textContent = text;
  node.className = kind || "";
  node.hidden = text === "";
}

function copyButton(text) {
  return el("button", {
    class: "copy",
    type: "button",
    title: "Copy to the clipboard",
    onclick: (event) => {
      const button = event.currentTarget;
      const value = typeof text === "function" ? text() : text;
      navigator.clipboard.writeText(value).then(
        () => flash(button, "copied"),
        () => flash(button, "cannot copy"),
      );
    },
  }, "copy");
}

function flash(button, text) {
  const before = button.textContent;
  button.textContent = text;
  setTimeout(() => (button.textContent = before), 1200);
}

function table(head, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, head.map((h) => el("th", { text: h })))),
    el("tbody", {}, rows));
}

// ----- The token: from the fragment to sessionStorage, sent as a header ----

let token = sessionStorage.getItem(TOKEN_KEY) || "";
let firstPane = "overview";
(function takeFragment() {
  const hash = location.hash.replace(/^#/, "");
  if (hash === "") return;
  for (const part of hash.split("&")) {
    const at = part.indexOf("=");
    const key = at === -1 ? part : part.slice(0, at);
    let value = at === -1 ? "" : part.slice(at + 1);
    try {
      value = decodeURIComponent(value);
    } catch {
      // kept as written
    }
    if (key === "token") {
      token = value;
      sessionStorage.setItem(TOKEN_KEY, value);
    } else if (key === "pane") firstPane = value;
  }
  history.replaceState(null, "", location.pathname + location.search);
})();

function withToken(headers) {
  const all = Object.assign({}, headers || {});
  if (token !== "") all.authorization = "Bearer " + token;
  return all;
}

async function api(path, options) {
  options = options || {};
  const response = await fetch(path, Object.assign({}, options, {
    headers: withToken(options.headers),
    cache: "no-store",
  }));
  if (response.status === 401) askToken();
  return response;
}

async function errorOf(response) {
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) return body.error.message;
  } catch {
    // not JSON
  }
  return "HTTP " + response.status;
}

function askToken() {
  $("token-bar").hidden = false;
}

function setupToken() {
  $("token-use").addEventListener("click", () => {
    token = $("token-input").value.trim();
    $("token-input").value = "";
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token-bar").hidden = true;
    refresh();
  });
  $("token-forget").addEventListener("click", () => {
    token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    askToken();
  });
}

async function action(path, what) {
  notice(what + "\u2026", "busy");
  try {
    const response = await api(path, {
      method: "POST",
      headers: { "content-type": "application/json", "x-mcp-runner-console": "1" },
      body: "{}",
    });
    if (response.ok) {
      const body = await response.json();
      notice(what + ": " + (body.detail || "done"), "ok");
    } else notice(what + ": " + (await errorOf(response)), "error");
  } catch (error) {
    notice(what + ": " + error.message, "error");
  }
  refresh();
}

// ----- Status polling ------------------------------------------------------

let status = null;
let refreshing = false;

async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    const response = await api("/console/api/status");
    if (!response.ok) {
      $("conn").textContent = await errorOf(response);
      $("conn").className = "bad";
      return;
    }
    status = await response.json();
    $("conn").textContent = "connected";
    $("conn").className = "good";
    render();
  } catch (error) {
    $("conn").textContent = "cannot reach the runner: " + error.message;
    $("conn").className = "bad";
  } finally {
    refreshing = false;
  }
}

function render() {
  const s = status;
  $("summary").textContent = "v" + s.version + " \u00b7 up " + ago(s.uptimeSeconds) +
    " \u00b7 " + s.address.url + " \u00b7 auth " + (s.auth ? "on" : "off") +
    " \u00b7 TLS " + (s.tls ? "on" : "off");
  renderOverview();
  renderServers();
  renderSessions();
  for (const id of ["try-server", "logs-server"]) fillServers($(id));
}

function fillServers(select) {
  const names = status.servers.map((server) => server.name);
  const now = Array.from(select.options, (option) => option.value);
  if (names.join("\n") === now.join("\n")) return;
  const chosen = select.value;
  fill(select, ...names.map((name) => el("option", { value: name, text: name })));
  if (names.includes(chosen)) select.value = chosen;
  select.dispatchEvent(new Event("change"));
}

function server(name) {
  return status && status.servers.find((s) => s.name === name);
}

/** The page's own origin with a server URL's path: same-origin whatever the address. */
function local(url) {
  const parsed = new URL(url, location.href);
  return location.origin + parsed.pathname + parsed.search;
}

// ----- Overview ------------------------------------------------------------

let overviewKey = "";

function renderOverview() {
  const s = status;
  fill($("runner-facts"), 
    ...[
      ["version", s.version],
      ["uptime", ago(s.uptimeSeconds)],
      ["address", s.address.url],
      ["auth", s.auth ? "bearer token required" : "none"],
      ["TLS", s.tls ? "on" : "off"],
      ["config file", s.configFile || "\u2014"],
      ["default server", s.defaultServer || "\u2014"],
      ["max sessions", String(s.maxSessions)],
    ].map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { text: v }))),
  );
  const key = JSON.stringify([s.auth, s.servers.map((x) => [x.name, x.urls])]);
  if (key === overviewKey) return;
  overviewKey = key;
  fill($("endpoints"), ...s.servers.map((x) =>
    el("div", { class: "endpoint" },
      el("h3", { text: x.name }),
      ...[
        ["Streamable HTTP", x.urls.mcp],
        ["HTTP+SSE", x.urls.sse],
        ["WebSocket", x.urls.websocket],
      ].map(([label, url]) =>
        el("div", { class: "url" }, el("span", { class: "label", text: label }),
          el("code", { text: url }), copyButton(url))
      ))
  ));
  fillServers($("config-server"));
  renderConfig();
}

function renderConfig() {
  const x = server($("config-server").value);
  if (!x) return;
  const shown = $("config-token").checked && token !== "" ? token : "<token>";
  const headers = status.auth ? { Authorization: "Bearer " + shown } : undefined;
  const entry = (extra) => Object.assign(extra, { url: x.urls.mcp }, headers ? { headers } : {});
  let text;
  switch ($("config-client").value) {
    case "claude":
      text = "// .mcp.json (or claude mcp add-json " + x.name + " '<the entry>')\n" +
        JSON.stringify({ mcpServers: { [x.name]: entry({ type: "http" }) } }, null, 2);
      break;
    case "vscode":
      text = "// .vscode/mcp.json\n" +
        JSON.stringify({ servers: { [x.name]: entry({ type: "http" }) } }, null, 2);
      break;
    case "cursor":
      text = "// ~/.cursor/mcp.json or .cursor/mcp.json\n" +
        JSON.stringify({ mcpServers: { [x.name]: entry({}) } }, null, 2);
      break;
    default:
      text = "npx @modelcontextprotocol/inspector --cli " + x.urls.mcp +
        " --transport http --method tools/list" +
        (status.auth ? " --header 'Authorization: Bearer " + shown + "'" : "");
  }
  $("config-text").textContent = text;
}

function setupOverview() {
  for (const id of ["config-server", "config-client", "config-token"]) {
    $(id).addEventListener("change", renderConfig);
  }
  $("config-copy").replaceWith(copyButton(() => $("config-text").textContent));
}

// ----- Servers and sessions ------------------------------------------------

function stateText(x) {
  let text = x.state;
  if (x.state === "restarting" && x.nextAttemptAt) text += " (next attempt " + clock(x.nextAttemptAt) + ")";
  return text;
}

function exitText(exit) {
  if (!exit) return "\u2014";
  return (exit.signal ? "signal " + exit.signal : "code " + exit.code) + " at " + clock(exit.at);
}

function renderServers() {
  const s = status;
  $("reload").hidden = !s.configFile;
  $("config-error").hidden = !s.configError;
  $("config-error").textContent = s.configError ? "Reload failed, the running configuration is kept: " + s.configError : "";
  fill($("servers-table"), table(
    ["server", "mode", "state", "pids", "sessions", "restarts", "last exit", "protocol", "server info", "capabilities", "program", ""],
    s.servers.map((x) => el("tr", { "data-server": x.name },
      el("td", { text: x.name }),
      el("td", { text: x.mode + (x.prewarm ? " (prewarm " + x.prewarm + ")" : "") }),
      el("td", { class: "state " + x.state },
        el("span", { class: "badge " + x.state, text: stateText(x) }),
        x.reason ? el("div", { class: "reason", text: x.reason }) : null),
      el("td", { text: x.pids.join(", ") || "\u2014" }),
      el("td", { text: x.sessions.length + (x.maxSessions ? " / " + x.maxSessions : "") }),
      el("td", { class: "restarts", text: String(x.restarts) }),
      el("td", { text: exitText(x.lastExit) }),
      el("td", { text: x.protocolVersion || "\u2014" }),
      el("td", { text: x.serverInfo ? [x.serverInfo.name, x.serverInfo.version].filter(Boolean).join(" ") : "\u2014" }),
      el("td", { text: x.capabilities ? Object.keys(x.capabilities).join(", ") || "none" : "\u2014" }),
      el("td", { text: x.program + " (" + x.argCount + " arguments)" + (x.envKeys.length ? "; env: " + x.envKeys.join(", ") : "") }),
      el("td", {}, x.mode === "shared"
        ? el("button", { type: "button", class: "restart", onclick: () => action("/console/api/servers/" + encodeURIComponent(x.name) + "/restart", "Restart " + x.name) }, "Restart")
        : null),
    )),
  ));
}

function renderSessions() {
  const rows = [];
  for (const x of status.servers) {
    for (const session of x.sessions) {
      rows.push(el("tr", { "data-session": session.id },
        el("td", { text: x.name }),
        el("td", {}, el("code", { text: session.id })),
        el("td", { text: session.transport }),
        el("td", { text: [session.clientName, session.clientVersion].filter(Boolean).join(" ") || "\u2014" }),
        el("td", { text: session.protocolVersion || "\u2014" }),
        el("td", { text: ago(session.ageSeconds) }),
        el("td", { text: session.idleSeconds === undefined ? "busy" : ago(session.idleSeconds) }),
        el("td", { text: String(session.inFlight) }),
        el("td", { text: String(session.queuedBytes) }),
        el("td", { text: session.tokenIndex ? "#" + session.tokenIndex : "\u2014" }),
        el("td", {}, el("button", { type: "button", onclick: () => action("/console/api/sessions/" + encodeURIComponent(session.id) + "/end", "End session " + session.id) }, "End session")),
      ));
    }
  }
  $("sessions-count").textContent = rows.length + " live" +
    (rows.length > MAX_ROWS ? ", the first " + MAX_ROWS + " shown" : "");
  rows.length = Math.min(rows.length, MAX_ROWS);
  fill($("sessions-table"), rows.length === 0
    ? el("p", { class: "empty", text: "No live sessions." })
    : table(["server", "session", "transport", "client", "protocol", "age", "idle", "in flight", "queued bytes", "token", ""], rows));
}

` + CONSOLE_TRY_JS + CONSOLE_VIEW_JS + String.raw`
// ----- Panes and start -----------------------------------------------------

const PANES = ["overview", "servers", "sessions", "try", "logs", "metrics"];

function show(pane) {
  if (!PANES.includes(pane)) pane = "overview";
  for (const name of PANES) {
    $("pane-" + name).hidden = name !== pane;
    document.querySelector('nav button[data-pane="' + name + '"]').classList.toggle("chosen", name === pane);
  }
  if (pane === "try" && !mcp && status) connect();
  if (pane === "logs") openLogs();
  if (pane === "metrics") refreshMetrics();
}

function start() {
  setupToken();
  setupOverview();
  setupTry();
  setupLogs();
  $("reload").addEventListener("click", () => action("/console/api/reload", "Reload the config file"));
  for (const button of document.querySelectorAll("nav button")) {
    button.addEventListener("click", () => show(button.getAttribute("data-pane")));
  }
  setInterval(() => {
    if (document.hidden) return;
    refresh();
    if (!$("pane-metrics").hidden) refreshMetrics();
  }, POLL_MS);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();
  });
  refresh().then(() => show(firstPane));
}

start();
})();
`;
