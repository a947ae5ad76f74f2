/**
 * The web console's script (`/console/app.js`), as a string: plain browser
 * JavaScript, no framework, no build step. Everything a server supplies is
 * put into the page with `textContent` or attribute setters, never as HTML.
 *
 * Written without template literals, so that it can live in this raw string.
 *
 * @module
 */

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

// ----- Try it: the page's own Streamable HTTP session ---------------------

class McpSession {
  constructor(url) {
    this.url = url;
    this.sessionId = null;
    this.protocolVersion = PROTOCOL_VERSION;
    this.nextId = 1;
    this.closed = false;
    this.info = null;
    // Cancels every request still under way when the session is closed.
    this.ending = new AbortController();
  }

  headers() {
    const headers = withToken({
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": this.protocolVersion,
    });
    if (this.sessionId) headers["mcp-session-id"] = this.sessionId;
    return headers;
  }

  async post(message, onNotification) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS);
    try {
      const response = await fetch(this.url, {
        method: "POST",
        headers: this.headers(),
        body: JSON.stringify(message),
        signal: AbortSignal.any([abort.signal, this.ending.signal]),
        cache: "no-store",
      });
      const id = response.headers.get("mcp-session-id");
      if (id) this.sessionId = id;
      if (response.status === 401) askToken();
      if (response.status === 404 && this.sessionId) {
        // The runner ended this session (idle, or from the Sessions pane).
        this.closed = true;
        await response.body?.cancel();
        trySetStatus("the runner ended this session: connect again", "error");
        throw new Error("the session has ended");
      }
      if (response.status === 202) {
        await response.body?.cancel();
        return null;
      }
      const type = (response.headers.get("content-type") || "").toLowerCase();
      if (type.startsWith("text/event-stream")) {
        return await this.readEvents(response.body, message.id, onNotification);
      }
      if (type.startsWith("application/json")) {
        const body = await response.json();
        if (!response.ok && body && body.error) {
          throw new Error("HTTP " + response.status + ": " + body.error.message);
        }
        return body;
      }
      throw new Error("HTTP " + response.status + " with " + (type || "no content type"));
    } catch (error) {
      if (this.ending.signal.aborted) throw new Error("the session was closed");
      if (abort.signal.aborted) throw new Error("no answer within " + REQUEST_TIMEOUT_MS / 1000 + " s");
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async readEvents(body, id, onNotification) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the event stream ended before the answer");
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split("\n").filter((line) => line.startsWith("data:"))
            .map((line) => line.slice(5).replace(/^ /, "")).join("\n");
          if (data === "") continue;
          const message = JSON.parse(data);
          if (message.id === id && message.method === undefined) return message;
          if (message.method !== undefined && message.id !== undefined) this.answerServer(message);
          else if (message.method !== undefined && onNotification) onNotification(message);
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  /** The console declares no client capability: ping is answered, the rest refused. */
  answerServer(message) {
    const reply = message.method === "ping"
      ? { jsonrpc: "2.0", id: message.id, result: {} }
      : { jsonrpc: "2.0", id: message.id, error: { code: -32601, message: "The web console does not support " + message.method } };
    this.post(reply).catch(() => {});
  }

  async request(method, params, onNotification) {
    const message = { jsonrpc: "2.0", id: this.nextId++, method };
    if (params !== undefined) message.params = params;
    const answer = await this.post(message, onNotification);
    if (answer === null) throw new Error(method + ": the runner accepted it but sent no answer");
    return answer;
  }

  async call(method, params, onNotification) {
    const answer = await this.request(method, params, onNotification);
    if (answer.error) throw new Error(method + ": " + answer.error.message + " (" + answer.error.code + ")");
    return answer.result;
  }

  async open() {
    this.info = await this.call("initialize", {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: "mcp-server-runner-console", version: "1" },
    });
    if (typeof this.info.protocolVersion === "string") this.protocolVersion = this.info.protocolVersion;
    await this.post({ jsonrpc: "2.0", method: "notifications/initialized" });
  }

  async list(method, key) {
    const items = [];
    let cursor;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await this.call(method, cursor === undefined ? {} : { cursor });
      if (Array.isArray(result[key])) items.push(...result[key]);
      cursor = result.nextCursor;
      if (typeof cursor !== "string" || cursor === "") break;
    }
    return items;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.ending.abort();
    if (!this.sessionId) return;
    fetch(this.url, { method: "DELETE", headers: this.headers(), keepalive: true }).catch(() => {});
  }
}

let mcp = null;
let tools = [];
let progressToken = 0;
const rawHistory = JSON.parse(sessionStorage.getItem(HISTORY_KEY) || "[]");

function trySetStatus(text, kind) {
  $("try-status").textContent = text;
  $("try-status").className = kind || "";
}

async function connect() {
  disconnect();
  const name = $("try-server").value;
  const x = server(name);
  if (!x) return;
  const session = new McpSession(local(x.urls.mcp));
  mcp = session;
  trySetStatus("connecting to " + name + "\u2026", "busy");
  try {
    await session.open();
    if (mcp !== session) return session.close();
    const info = session.info.serverInfo || {};
    trySetStatus("connected to " + [info.name, info.version].filter(Boolean).join(" ") +
      " (protocol " + session.protocolVersion + ")", "ok");
    $("try-body").hidden = false;
    const caps = session.info.capabilities || {};
    await Promise.all([
      caps.tools ? loadTools() : noneListed("tool-list", "This server has no tools."),
      caps.resources ? loadResources() : noneListed("resource-list", "This server has no resources."),
      caps.prompts ? loadPrompts() : noneListed("prompt-list", "This server has no prompts."),
    ]);
  } catch (error) {
    if (mcp === session) trySetStatus("cannot connect: " + error.message, "error");
  }
}

function disconnect() {
  if (mcp) mcp.close();
  mcp = null;
  tools = [];
  $("try-body").hidden = true;
  for (const id of ["tool-list", "resource-list", "prompt-list", "tool-detail", "resource-result", "prompt-detail", "raw-result"]) $(id).replaceChildren();
  trySetStatus("not connected", "");
}

function noneListed(id, text) {
  $(id).replaceChildren(el("p", { class: "empty", text }));
}

async function loadTools() {
  const session = mcp;
  tools = await session.list("tools/list", "tools");
  if (mcp !== session) return;
  $("tool-count").textContent = String(tools.length);
  fill($("tool-list"), ...tools.map((tool, index) =>
    el("li", {}, el("button", {
      type: "button",
      class: "tool",
      "data-index": index,
      title: typeof tool.description === "string" ? clip(tool.description, 500) : "",
      onclick: () => showTool(index),
    }, String(tool.name)))
  ));
  if (tools.length === 0) noneListed("tool-list", "No tools.");
}

function showTool(index) {
  const tool = tools[index];
  for (const button of $("tool-list").querySelectorAll("button")) {
    button.classList.toggle("chosen", button.getAttribute("data-index") === String(index));
  }
  const form = buildForm(tool.inputSchema);
  const progress = el("progress", { id: "tool-progress", hidden: true });
  const progressText = el("span", { id: "tool-progress-text" });
  const result = el("div", { id: "tool-result", class: "result" });
  const run = el("button", { type: "button", id: "tool-call", class: "primary" }, "Call " + clip(tool.name, 60));
  run.addEventListener("click", async () => {
    let args;
    try {
      args = form.read();
    } catch (error) {
      fill(result, el("p", { class: "error", text: error.message }));
      return;
    }
    const tokenValue = "console-" + ++progressToken;
    progress.hidden = true;
    progressText.textContent = "";
    run.disabled = true;
    fill(result, el("p", { class: "busy", text: "calling\u2026" }));
    const started = performance.now();
    try {
      const answer = await mcp.request("tools/call", { name: tool.name, arguments: args, _meta: { progressToken: tokenValue } }, (note) => {
        if (note.method !== "notifications/progress" || !note.params || note.params.progressToken !== tokenValue) return;
        const p = note.params;
        progress.hidden = false;
        if (typeof p.total === "number" && p.total > 0) {
          progress.max = p.total;
          progress.value = Math.min(Number(p.progress) || 0, p.total);
        } else progress.removeAttribute("value");
        progressText.textContent = (p.progress ?? "") + (typeof p.total === "number" ? " / " + p.total : "") + (p.message ? " \u2014 " + p.message : "");
      });
      showAnswer(result, answer, performance.now() - started);
    } catch (error) {
      fill(result, el("p", { class: "error", text: error.message }));
    } finally {
      run.disabled = false;
    }
  });
  fill($("tool-detail"), 
    el("h3", { class: "tool-name", text: String(tool.name) }),
    tool.title ? el("p", { class: "tool-title", text: String(tool.title) }) : null,
    el("p", { class: "description", text: typeof tool.description === "string" ? clip(tool.description, 5000) : "" }),
    el("div", { id: "tool-form", class: "form" }, form.node),
    el("div", { class: "actions" }, run, progress, progressText),
    result,
    el("details", {}, el("summary", { text: "input schema" }), el("pre", { text: pretty(tool.inputSchema) })),
  );
}

// ----- Forms from JSON Schema ----------------------------------------------

function lookup(root, ref) {
  if (typeof ref !== "string" || !ref.startsWith("#")) return undefined;
  let node = root;
  for (const raw of ref.slice(1).split("/").filter((p) => p !== "")) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (!isObject(node) || !Object.prototype.hasOwnProperty.call(node, part)) return undefined;
    node = node[part];
  }
  return node;
}

/** Follows $ref (local ones only); a cycle or a dead end gives undefined. */
function resolve(schema, root, seen) {
  let hops = 0;
  while (isObject(schema) && typeof schema.$ref === "string") {
    if (seen.has(schema.$ref) || ++hops > 10) return { schema: undefined, seen };
    seen = new Set(seen);
    seen.add(schema.$ref);
    schema = lookup(root, schema.$ref);
  }
  return { schema, seen };
}

function kindOf(schema) {
  if (!isObject(schema)) return undefined;
  if (Array.isArray(schema.enum) && schema.enum.length > 0 &&
    schema.enum.every((v) => v === null || ["string", "number", "boolean"].includes(typeof v))) return "enum";
  let type = schema.type;
  if (Array.isArray(type)) {
    const rest = type.filter((t) => t !== "null");
    type = rest.length === 1 ? rest[0] : undefined;
  }
  return ["string", "number", "integer", "boolean", "array", "object"].includes(type) ? type : undefined;
}

function labelFor(name, schema, required) {
  const title = isObject(schema) && typeof schema.title === "string" ? schema.title : "";
  const description = isObject(schema) && typeof schema.description === "string" ? schema.description : "";
  return el("span", { class: "field-label" },
    el("span", { class: "field-name", text: name }),
    required ? el("span", { class: "required", text: " *" }) : null,
    title ? el("span", { class: "field-title", text: " \u2014 " + clip(title, 200) }) : null,
    description ? el("span", { class: "field-description", text: clip(description, 1000) }) : null);
}

function parseScalar(kind, text, path) {
  if (kind === "string") return text;
  if (kind === "boolean") {
    if (text === "true" || text === "false") return text === "true";
    throw new Error(path + ": expected true or false");
  }
  const number = Number(text);
  if (text.trim() === "" || !isFinite(number)) throw new Error(path + ": expected a number");
  if (kind === "integer" && !Number.isInteger(number)) throw new Error(path + ": expected an integer");
  return number;
}

/** A field: { node, read() } where read() gives { value } or { skip: true }, or throws. */
function field(path, schema, root, depth, seen, required) {
  const resolved = resolve(schema, root, seen);
  const s = resolved.schema;
  const kind = depth > MAX_DEPTH ? undefined : kindOf(s);
  const label = labelFor(path, isObject(s) ? s : schema, required);
  const wrap = (input, read, cls) => ({ node: el("label", { class: "field " + (cls || "") }, label, input), read });
  const missing = () => {
    if (required) throw new Error(path + " is required");
    return { skip: true };
  };
  if (kind === "string" || kind === "number" || kind === "integer") {
    const long = kind === "string" && (s.format === "textarea" || (typeof s.maxLength === "number" && s.maxLength > 200));
    const input = long
      ? el("textarea", { name: path, rows: 3 })
      : el("input", { name: path, type: kind === "string" ? "text" : "number", step: kind === "integer" ? "1" : "any" });
    if (s.default !== undefined && typeof s.default !== "object") input.value = String(s.default);
    return wrap(input, () => input.value === "" ? missing() : { value: parseScalar(kind, input.value, path) });
  }
  if (kind === "boolean") {
    const input = el("input", { name: path, type: "checkbox", checked: s.default === true });
    return wrap(input, () => input.checked || required ? { value: input.checked } : { skip: true }, "check");
  }
  if (kind === "enum") {
    const input = el("select", { name: path },
      required ? null : el("option", { value: "", text: "\u2014" }),
      s.enum.map((v, i) => el("option", { value: String(i), text: typeof v === "string" ? v : JSON.stringify(v) })));
    if (s.default !== undefined) {
      const at = s.enum.findIndex((v) => v === s.default);
      if (at !== -1) input.value = String(at);
    }
    return wrap(input, () => input.value === "" ? missing() : { value: s.enum[Number(input.value)] });
  }
  if (kind === "array") {
    const items = resolve(s.items, root, resolved.seen).schema;
    const itemKind = kindOf(items);
    if (["string", "number", "integer", "boolean", "enum"].includes(itemKind)) {
      const input = el("textarea", { name: path, rows: 3, placeholder: "one " + (itemKind === "enum" ? "of: " + items.enum.map(String).join(", ") : itemKind) + " per line" });
      return wrap(input, () => {
        const lines = input.value.split("\n").filter((line) => line.trim() !== "");
        if (lines.length === 0) return missing();
        return {
          value: lines.map((line, i) => {
            if (itemKind !== "enum") return parseScalar(itemKind, itemKind === "string" ? line : line.trim(), path + "[" + i + "]");
            const found = items.enum.find((v) => String(v) === line.trim());
            if (found === undefined) throw new Error(path + "[" + i + "]: not one of the allowed values");
            return found;
          }),
        };
      });
    }
  }
  if (kind === "object" && isObject(s.properties) && depth < MAX_DEPTH) {
    const object = fields(s, root, depth + 1, resolved.seen, path + ".");
    return {
      node: el("fieldset", { class: "field" }, el("legend", {}, label), object.node),
      read: () => {
        const value = object.read();
        return Object.keys(value).length === 0 ? missing() : { value };
      },
    };
  }
  return jsonField(path, label, required);
}

function jsonField(path, label, required) {
  const input = el("textarea", { name: path, rows: 4, class: "json", placeholder: "JSON" });
  return {
    node: el("label", { class: "field" }, label, input),
    read: () => {
      if (input.value.trim() === "") {
        if (required) throw new Error(path + " is required");
        return { skip: true };
      }
      try {
        return { value: JSON.parse(input.value) };
      } catch (error) {
        throw new Error(path + ": not valid JSON: " + error.message);
      }
    },
  };
}

function fields(schema, root, depth, seen, prefix) {
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const list = Object.entries(schema.properties).slice(0, 200).map(([name, sub]) =>
    [name, field(prefix + name, sub, root, depth, seen, required.has(name))]);
  return {
    node: el("div", { class: "fields" }, list.map(([, f]) => f.node)),
    read: () => {
      const value = {};
      for (const [name, f] of list) {
        const got = f.read();
        if (!got.skip) value[name] = got.value;
      }
      return value;
    },
  };
}

function buildForm(inputSchema) {
  const root = isObject(inputSchema) ? inputSchema : {};
  const { schema, seen } = resolve(root, root, new Set());
  if (isObject(schema) && isObject(schema.properties) && Object.keys(schema.properties).length > 0) {
    return fields(schema, root, 0, seen, "");
  }
  if (isObject(schema) && (schema.type === "object" || schema.type === undefined) && !schema.additionalProperties) {
    return { node: el("p", { class: "empty", text: "No arguments." }), read: () => ({}) };
  }
  const whole = jsonField("arguments", el("span", { class: "field-label", text: "arguments (JSON object)" }), false);
  return { node: whole.node, read: () => (whole.read().value ?? {}) };
}

// ----- Results -------------------------------------------------------------

function dataUrl(mime, data) {
  return "data:" + mime + ";base64," + data;
}

function contentItem(item) {
  if (!isObject(item)) return el("pre", { text: pretty(item) });
  const mime = typeof item.mimeType === "string" ? item.mimeType.toLowerCase() : "";
  const data = typeof item.data === "string" ? item.data.replace(/\s+/g, "") : "";
  switch (item.type) {
    case "text":
      return el("pre", { class: "text", text: clip(item.text, MAX_TEXT) });
    case "image":
      if (IMAGE_TYPES.includes(mime) && BASE64.test(data)) {
        return el("img", { class: "image", alt: "image (" + mime + ")", src: dataUrl(mime, data) });
      }
      return el("p", { class: "note", text: "[an image of type " + clip(mime || "unknown", 80) + ": not shown]" });
    case "audio":
      if (/^audio\/[a-z0-9.+-]+$/.test(mime) && BASE64.test(data)) {
        return el("audio", { controls: true, src: dataUrl(mime, data) });
      }
      return el("p", { class: "note", text: "[audio of type " + clip(mime || "unknown", 80) + ": not played]" });
    case "resource_link":
      return el("p", { class: "link", text: "resource link: " + [item.name, item.uri, item.mimeType].filter((v) => typeof v === "string").join(" \u00b7 ") });
    case "resource":
      return resourceContents(item.resource);
    default:
      return el("pre", { text: pretty(item) });
  }
}

function resourceContents(resource) {
  if (!isObject(resource)) return el("pre", { text: pretty(resource) });
  const head = "resource " + [resource.uri, resource.mimeType].filter((v) => typeof v === "string").join(" \u00b7 ");
  if (typeof resource.text === "string") {
    return el("div", { class: "resource" }, el("p", { class: "link", text: head }), el("pre", { class: "text", text: clip(resource.text, MAX_TEXT) }));
  }
  if (typeof resource.blob === "string") {
    return el("p", { class: "link", text: head + " \u00b7 " + resource.blob.length + " base64 characters (not shown)" });
  }
  return el("pre", { text: pretty(resource) });
}

function showAnswer(container, answer, elapsedMs) {
  const result = answer.result;
  const failed = answer.error !== undefined || (isObject(result) && result.isError === true);
  const parts = [el("p", { class: "elapsed " + (failed ? "error" : "ok"), text: (answer.error ? "error" : result && result.isError ? "isError: true" : "ok") + " \u00b7 " + Math.round(elapsedMs) + " ms" })];
  if (answer.error) {
    parts.push(el("pre", { class: "error", text: answer.error.code + " " + clip(answer.error.message, MAX_TEXT) + (answer.error.data === undefined ? "" : "\n" + pretty(answer.error.data)) }));
  } else if (isObject(result)) {
    if (Array.isArray(result.content)) parts.push(...result.content.slice(0, 100).map(contentItem));
    if (Array.isArray(result.contents)) parts.push(...result.contents.slice(0, 100).map(resourceContents));
    if (Array.isArray(result.messages)) {
      for (const m of result.messages.slice(0, 100)) parts.push(el("p", { class: "role", text: String(m && m.role) }), contentItem(m && m.content));
    }
    if (result.structuredContent !== undefined) {
      parts.push(el("p", { class: "label", text: "structuredContent" }), el("pre", { class: "structured", text: pretty(result.structuredContent) }));
    }
  }
  parts.push(el("details", {}, el("summary", { text: "raw answer" }), el("pre", { text: pretty(answer) })));
  fill(container, ...parts);
}

// ----- Resources, prompts, ping, raw ---------------------------------------

async function loadResources() {
  const session = mcp;
  const resources = await session.list("resources/list", "resources");
  if (mcp !== session) return;
  fill($("resource-list"), ...resources.slice(0, 500).map((r) =>
    el("li", {},
      el("code", { text: String(r.uri) }), " ",
      el("span", { text: [r.name, r.mimeType].filter((v) => typeof v === "string").join(" \u00b7 ") }), " ",
      el("button", { type: "button", onclick: () => timed($("resource-result"), () => mcp.request("resources/read", { uri: r.uri })) }, "Read"))
  ));
  if (resources.length === 0) noneListed("resource-list", "No resources.");
}

async function loadPrompts() {
  const session = mcp;
  const prompts = await session.list("prompts/list", "prompts");
  if (mcp !== session) return;
  fill($("prompt-list"), ...prompts.slice(0, 500).map((p) =>
    el("li", {}, el("button", { type: "button", title: typeof p.description === "string" ? clip(p.description, 500) : "", onclick: () => showPrompt(p) }, String(p.name)))
  ));
  if (prompts.length === 0) noneListed("prompt-list", "No prompts.");
}

function showPrompt(prompt) {
  const args = Array.isArray(prompt.arguments) ? prompt.arguments.slice(0, 100) : [];
  const inputs = args.map((a) => [a, el("input", { type: "text", name: String(a && a.name) })]);
  const result = el("div", { class: "result" });
  fill($("prompt-detail"), 
    el("h3", { text: String(prompt.name) }),
    el("p", { class: "description", text: typeof prompt.description === "string" ? clip(prompt.description, 5000) : "" }),
    el("div", { class: "fields" }, inputs.map(([a, input]) =>
      el("label", { class: "field" }, labelFor(String(a && a.name), a, a && a.required === true), input))),
    el("button", {
      type: "button",
      class: "primary",
      onclick: () => {
        const values = {};
        for (const [a, input] of inputs) if (input.value !== "") values[a.name] = input.value;
        timed(result, () => mcp.request("prompts/get", { name: prompt.name, arguments: values }));
      },
    }, "Get prompt"),
    result,
  );
}

async function timed(container, send) {
  if (!mcp) return;
  fill(container, el("p", { class: "busy", text: "waiting\u2026" }));
  const started = performance.now();
  try {
    showAnswer(container, await send(), performance.now() - started);
  } catch (error) {
    fill(container, el("p", { class: "error", text: error.message }));
  }
}

function setupTry() {
  $("try-connect").addEventListener("click", connect);
  $("try-disconnect").addEventListener("click", disconnect);
  $("try-server").addEventListener("change", () => {
    if (mcp || !$("pane-try").hidden) connect();
  });
  $("try-ping").addEventListener("click", () => timed($("raw-result"), () => mcp.request("ping")));
  for (const button of document.querySelectorAll("#try-tabs button")) {
    button.addEventListener("click", () => {
      for (const other of document.querySelectorAll("#try-tabs button")) other.classList.toggle("chosen", other === button);
      for (const section of document.querySelectorAll(".try-section")) section.hidden = section.id !== button.getAttribute("data-section");
    });
  }
  $("raw-send").addEventListener("click", sendRaw);
  $("raw-history").addEventListener("change", () => {
    const at = Number($("raw-history").value);
    if (rawHistory[at] !== undefined) $("raw-input").value = rawHistory[at];
  });
  fillHistory();
  window.addEventListener("pagehide", () => {
    if (mcp) mcp.close();
  });
}

function fillHistory() {
  fill($("raw-history"), el("option", { value: "", text: "history (" + rawHistory.length + ")" }),
    ...rawHistory.map((text, i) => el("option", { value: String(i), text: clip(text.replace(/\s+/g, " "), 80) })));
}

async function sendRaw() {
  const text = $("raw-input").value;
  let message;
  try {
    message = JSON.parse(text);
  } catch (error) {
    fill($("raw-result"), el("p", { class: "error", text: "not valid JSON: " + error.message }));
    return;
  }
  if (!mcp) return;
  const at = rawHistory.indexOf(text);
  if (at !== -1) rawHistory.splice(at, 1);
  rawHistory.unshift(text);
  rawHistory.length = Math.min(rawHistory.length, 50);
  sessionStorage.setItem(HISTORY_KEY, JSON.stringify(rawHistory));
  fillHistory();
  if (isObject(message) && message.jsonrpc === undefined) message.jsonrpc = "2.0";
  if (isObject(message) && message.method !== undefined && message.id === undefined) {
    await timed($("raw-result"), async () => ((await mcp.post(message)) ?? { result: "accepted (202), no answer to a notification" }));
    return;
  }
  if (isObject(message) && message.id === undefined) message.id = "raw-" + mcp.nextId++;
  const notes = [];
  await timed($("raw-result"), () => mcp.post(message, (note) => notes.push(note)));
  if (notes.length) $("raw-result").append(el("details", {}, el("summary", { text: notes.length + " notifications" }), el("pre", { text: pretty(notes) })));
}

// ----- Logs ----------------------------------------------------------------

let logAbort = null;
let logServer = "";
let logLines = [];
let logRetry;

function levelOf(line) {
  if (/\b(fatal|panic|critical|error|err|exception|traceback)\b/i.test(line)) return 3;
  if (/\b(warn|warning)\b/i.test(line)) return 2;
  if (/\b(debug|trace|verbose)\b/i.test(line)) return 0;
  return 1;
}

function logRow(entry) {
  const level = levelOf(entry.line);
  return el("div", { class: "logline level-" + level, "data-seq": entry.seq },
    el("span", { class: "time", text: clock(entry.time) }),
    el("span", { class: "pid", text: String(entry.pid) }),
    el("span", { class: "text", text: entry.line + (entry.truncated ? " \u2026[truncated]" : "") }));
}

function logVisible(entry) {
  const min = Number($("logs-level").value);
  const search = $("logs-search").value.toLowerCase();
  return levelOf(entry.line) >= min && (search === "" || entry.line.toLowerCase().includes(search));
}

function renderLogs() {
  const box = $("log-lines");
  fill(box, ...logLines.filter(logVisible).map(logRow));
  box.scrollTop = box.scrollHeight;
}

function addLog(entry) {
  logLines.push(entry);
  if (logLines.length > MAX_LOG_ROWS) logLines.splice(0, logLines.length - MAX_LOG_ROWS);
  if ($("logs-pause").checked || !logVisible(entry)) return;
  const box = $("log-lines");
  const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.append(logRow(entry));
  while (box.childElementCount > MAX_LOG_ROWS) box.firstElementChild.remove();
  if (atEnd) box.scrollTop = box.scrollHeight;
}

async function openLogs() {
  const name = $("logs-server").value;
  if (name === "" || (name === logServer && logAbort)) return;
  closeLogs();
  logServer = name;
  logLines = [];
  renderLogs();
  const controller = new AbortController();
  logAbort = controller;
  $("logs-status").textContent = "connecting\u2026";
  try {
    const response = await api("/console/api/logs?server=" + encodeURIComponent(name), { signal: controller.signal, headers: { accept: "text/event-stream" } });
    if (!response.ok) throw new Error(await errorOf(response));
    $("logs-status").textContent = "live";
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        for (const line of block.split("\n")) {
          if (line.startsWith("data:")) addLog(JSON.parse(line.slice(5)));
        }
      }
    }
    throw new Error("the stream ended");
  } catch (error) {
    if (logAbort !== controller) return;
    logAbort = null;
    $("logs-status").textContent = "disconnected (" + error.message + "), retrying\u2026";
    logRetry = setTimeout(() => {
      if (!$("pane-logs").hidden && logServer === name) {
        logServer = "";
        openLogs();
      }
    }, 3000);
  }
}

function closeLogs() {
  clearTimeout(logRetry);
  if (logAbort) logAbort.abort();
  logAbort = null;
  logServer = "";
}

function setupLogs() {
  $("logs-server").addEventListener("change", () => {
    if (!$("pane-logs").hidden) openLogs();
  });
  $("logs-level").addEventListener("change", renderLogs);
  $("logs-search").addEventListener("input", renderLogs);
  $("logs-pause").addEventListener("change", renderLogs);
  $("logs-clear").addEventListener("click", () => {
    logLines = [];
    renderLogs();
  });
}

// ----- Metrics -------------------------------------------------------------

const GLANCE = [
  ["live sessions", "mcp_runner_sessions_active", null],
  ["sessions started", "mcp_runner_sessions_total", null],
  ["messages from clients", "mcp_runner_messages_total", "client_to_server"],
  ["messages to clients", "mcp_runner_messages_total", "server_to_client"],
  ["bytes from clients", "mcp_runner_bytes_total", "client_to_server"],
  ["bytes to clients", "mcp_runner_bytes_total", "server_to_client"],
  ["server processes started", "mcp_runner_child_spawns_total", null],
  ["server exits", "mcp_runner_child_exits_total", null],
  ["refused", "mcp_runner_refused_total", null],
  ["sessions evicted", "mcp_runner_sessions_evicted_total", null],
];

function parseMetrics(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    const match = /^([A-Za-z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match) samples.push({ name: match[1], labels: match[2] || "", value: Number(match[3]) });
  }
  return samples;
}

async function refreshMetrics() {
  try {
    const response = await api("/metrics");
    if (!response.ok) throw new Error(await errorOf(response));
    const samples = parseMetrics(await response.text());
    const sum = (name, direction) => samples.filter((s) => s.name === name &&
      (direction === null || s.labels.includes('direction="' + direction + '"'))).reduce((a, s) => a + s.value, 0);
    fill($("metrics-glance"), ...GLANCE.map(([label, name, direction]) =>
      el("div", { class: "metric" }, el("span", { class: "value", text: String(sum(name, direction)) }), el("span", { class: "label", text: label }))));
    fill($("metrics-table"), table(["metric", "labels", "value"],
      samples.filter((s) => !s.name.endsWith("_bucket")).map((s) =>
        el("tr", {}, el("td", { text: s.name }), el("td", { text: s.labels }), el("td", { text: String(s.value) })))));
    $("metrics-status").textContent = "updated " + new Date().toLocaleTimeString([], { hour12: false });
  } catch (error) {
    $("metrics-status").textContent = "cannot read /metrics: " + error.message;
  }
}

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
