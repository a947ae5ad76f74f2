/**
 * Part of the web console's `/console/app.js` (see `console_script.ts`):
 * forms generated from a tool's JSON Schema (depth capped, `$ref` cycles
 * cut), results (text; images and audio only as `data:` URLs of allowed
 * types), the Logs pane (the server's stderr, streamed) and the Metrics pane.
 *
 * @module
 */

/** The forms, results, logs and metrics part of the console's script. */
export const CONSOLE_VIEW_JS: string = String.raw`
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

`;
