/**
 * The web console's Try it pane, part of `/console/app.js` (see
 * `console_script.ts`): the page's own Streamable HTTP session (initialize,
 * JSON and SSE answers, paginated lists, DELETE on close), tools, resources,
 * prompts and the raw JSON-RPC box.
 *
 * @module
 */

/** The Try it part of the console's script. */
export const CONSOLE_TRY_JS: string = String.raw`
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

`;
