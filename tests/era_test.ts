/**
 * The pure pieces of 2026-07-28 translation, in-process: telling the eras
 * apart, the standard headers with their Base64 form, and stamping a legacy
 * answer without writing its text again.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  headerParams,
  paramMismatch,
} from "../lib/transport/streamable_http/mcp_params.ts";
import { checkFrame } from "../lib/jsonrpc/message.ts";
import {
  classify,
  isModernVersion,
} from "../lib/transport/streamable_http/era.ts";
import {
  decodeHeaderValue,
  headerMismatch,
} from "../lib/transport/streamable_http/mcp_headers.ts";
import {
  mapError,
  stampResult,
} from "../lib/transport/streamable_http/stamp.ts";

function checked(text: string) {
  const check = checkFrame(text);
  assert.ok(check.ok, text);
  return check.messages;
}

const ENVELOPE =
  '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}';

Deno.test("classify(): the body decides; a modern header without an envelope is malformed", () => {
  assert.equal(
    classify(
      checked(
        `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{${ENVELOPE}}}`,
      ),
      null,
    ).era,
    "modern",
  );
  assert.equal(
    classify(
      checked('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}'),
      null,
    ).era,
    "legacy",
  );
  assert.equal(
    classify(
      checked('{"jsonrpc":"2.0","id":1,"method":"tools/list"}'),
      "2025-11-25",
    ).era,
    "legacy",
  );
  const malformed = classify(
    checked('{"jsonrpc":"2.0","id":"x","method":"tools/list"}'),
    "2026-07-28",
  );
  assert.equal(malformed.era, "malformed");
  if (malformed.era === "malformed") {
    assert.equal(malformed.code, -32602);
    assert.equal(malformed.key, '"x"');
  }
  assert.equal(
    classify(checked('{"jsonrpc":"2.0","id":1,"result":{}}'), "2026-07-28").era,
    "legacy",
  );
  const batch = classify(
    checked(
      `[{"jsonrpc":"2.0","id":1,"method":"a","params":{${ENVELOPE}}},{"jsonrpc":"2.0","id":2,"method":"b"}]`,
    ),
    null,
  );
  assert.equal(batch.era === "malformed" && batch.code, -32600);
  assert.ok(isModernVersion("2026-07-28"));
  assert.ok(isModernVersion("v999.0.0"));
  assert.ok(!isModernVersion("2025-11-25"));
});

Deno.test("decodeHeaderValue(): plain values trimmed, canonical Base64 of UTF-8 decoded, anything else refused", () => {
  assert.equal(decodeHeaderValue("  tool  "), "tool");
  assert.equal(
    decodeHeaderValue("=?base64?SGVsbG8sIOS4lueVjA==?="),
    "Hello, 世界",
  );
  assert.equal(
    decodeHeaderValue("=?base64?SGVsbG8?="),
    undefined,
    "no padding",
  );
  assert.equal(
    decodeHeaderValue("=?base64?SGVsbG9=?="),
    undefined,
    "not canonical",
  );
  assert.equal(decodeHeaderValue("=?base64?/w==?="), undefined, "not UTF-8");
  assert.equal(
    decodeHeaderValue("=?BASE64?SGk=?="),
    "=?BASE64?SGk=?=",
    "markers are lowercase",
  );
});

Deno.test("headerMismatch(): Mcp-Method always, Mcp-Name for the three named methods", () => {
  const headers = (h: Record<string, string>) => new Headers(h);
  assert.equal(
    headerMismatch(headers({ "mcp-method": "tools/list" }), "tools/list", {}),
    undefined,
  );
  assert.match(headerMismatch(headers({}), "tools/list", {})!, /required/);
  assert.match(
    headerMismatch(headers({ "mcp-method": "tools/call" }), "tools/call", {
      name: "a",
    })!,
    /Mcp-Name header is required/,
  );
  assert.equal(
    headerMismatch(
      headers({ "mcp-method": "resources/read", "mcp-name": "file:///x" }),
      "resources/read",
      { uri: "file:///x" },
    ),
    undefined,
  );
  assert.match(
    headerMismatch(
      headers({ "mcp-method": "prompts/get", "mcp-name": "b" }),
      "prompts/get",
      { name: "a" },
    )!,
    /does not match params\.name/,
  );
});

Deno.test("stampResult(): members added in front, the rest of the text byte for byte", () => {
  const info = '{"name":"s","version":"1"}';
  const text =
    '{"jsonrpc":"2.0","id":1.0,"result":{"tools":[],"n":9007199254740993}}';
  const stamped = stampResult(text, "tools/list", info);
  assert.equal(
    stamped,
    '{"jsonrpc":"2.0","id":1.0,"result":{"resultType":"complete","ttlMs":0,"cacheScope":"private","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"s","version":"1"}},"tools":[],"n":9007199254740993}}',
  );
  // The child's own hints and _meta are kept; serverInfo joins _meta.
  const own = stampResult(
    '{"jsonrpc":"2.0","id":2,"result":{"ttlMs":5,"cacheScope":"public","_meta":{"k":1},"contents":[]}}',
    "resources/read",
    info,
  );
  const parsed = JSON.parse(own).result;
  assert.equal(parsed.ttlMs, 5);
  assert.equal(parsed.cacheScope, "public");
  assert.deepEqual(parsed._meta, {
    "io.modelcontextprotocol/serverInfo": { name: "s", version: "1" },
    k: 1,
  });
  // No caching hints outside the six cacheable methods; an empty result.
  assert.equal(
    stampResult('{"jsonrpc":"2.0","id":3,"result":{}}', "tools/call", "{}"),
    '{"jsonrpc":"2.0","id":3,"result":{"resultType":"complete","_meta":{"io.modelcontextprotocol/serverInfo":{}}}}',
  );
});

Deno.test("mapError(): -32002 becomes -32602 with data.uri; -32601 is a 404, -32021 a 400", () => {
  const notFound = mapError(
    '{"jsonrpc":"2.0","id":"r","error":{"code":-32002,"message":"Resource not found: x"}}',
    '"r"',
    -32002,
    "file:///x",
  );
  assert.equal(notFound.status, 200);
  assert.deepEqual(JSON.parse(notFound.text), {
    jsonrpc: "2.0",
    id: "r",
    error: {
      code: -32602,
      message: "Resource not found: x",
      data: { uri: "file:///x" },
    },
  });
  assert.equal(mapError("{}", "1", -32601, undefined).status, 404);
  assert.equal(mapError("{}", "1", -32021, undefined).status, 400);
  assert.equal(mapError("{}", "1", -32000, undefined).status, 200);
});

Deno.test("headerParams(): only valid x-mcp-header declarations on string, integer and boolean properties, reached through properties", () => {
  const params = headerParams({
    type: "object",
    properties: {
      a: { type: "string", "x-mcp-header": "Alpha" },
      b: { type: "number", "x-mcp-header": "Beta" },
      c: { type: "string", "x-mcp-header": "has space" },
      d: { type: "boolean", "x-mcp-header": "alpha" },
      e: {
        type: "object",
        properties: { f: { type: "integer", "x-mcp-header": "Deep" } },
      },
      g: { type: "array", items: { type: "string", "x-mcp-header": "Item" } },
    },
  });
  assert.deepEqual(params, [
    { path: ["a"], header: "Alpha", type: "string" },
    { path: ["e", "f"], header: "Deep", type: "integer" },
  ]);
  const headers = new Headers({
    "mcp-param-alpha": "x",
    "mcp-param-deep": "7.5",
  });
  assert.match(
    paramMismatch(headers, { a: "x", e: { f: 7 } }, params)!,
    /Deep/,
  );
  assert.equal(
    paramMismatch(
      new Headers({ "mcp-param-alpha": "x", "mcp-param-deep": "7" }),
      {
        a: "x",
        e: { f: 7 },
      },
      params,
    ),
    undefined,
  );
  assert.equal(paramMismatch(new Headers(), { a: null }, params), undefined);
});
