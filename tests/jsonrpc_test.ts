import assert from "node:assert/strict";
import { memberRange, replaceMember } from "../lib/jsonrpc/json_scan.ts";
import {
  checkChildLine,
  checkFrame,
  classify,
  errorResponse,
  idKey,
  idsAtEdges,
} from "../lib/jsonrpc/message.ts";

Deno.test("checkFrame() forwards a valid message unchanged", () => {
  const text = '{"jsonrpc":"2.0","id":"abc-1","method":"tools/list"}';
  const check = checkFrame(text);
  assert.ok(check.ok);
  assert.equal(check.text, text);
  assert.deepEqual(check.messages, [{
    kind: "request",
    id: "abc-1",
    key: '"abc-1"',
    method: "tools/list",
  }]);
  assert.deepEqual(check.errors, []);
});

Deno.test("checkFrame() compacts a pretty-printed message onto one line", () => {
  const text =
    '{\r\n  "jsonrpc": "2.0",\n  "id": 1,\n  "method": "echo",\n  "params": {"s": "a\\nb"}\n}';
  const check = checkFrame(text);
  assert.ok(check.ok);
  assert.ok(!check.text.includes("\n") && !check.text.includes("\r"));
  assert.deepEqual(JSON.parse(check.text), JSON.parse(text));
});

Deno.test("checkFrame() answers invalid JSON with -32700 and id null", () => {
  const check = checkFrame("{nope");
  assert.equal(check.ok, false);
  const error = JSON.parse(check.errors[0]!);
  assert.equal(error.id, null);
  assert.equal(error.error.code, -32700);
});

Deno.test("checkFrame() answers non-messages with -32600, keeping a usable id", () => {
  for (
    const [text, id] of [
      ["42", null],
      ['"x"', null],
      ["[]", null],
      ['{"id":5}', 5],
      ['{"jsonrpc":"1.0","id":"a","method":"m"}', "a"],
      [
        '{"jsonrpc":"2.0","id":null,"method":"m"}',
        null,
      ],
      ['{"jsonrpc":"2.0","id":{},"method":"m"}', null],
      ['{"jsonrpc":"2.0","id":1,"method":7}', 1],
    ] as const
  ) {
    const check = checkFrame(text);
    assert.equal(check.ok, false, text);
    const error = JSON.parse(check.errors[0]!);
    assert.equal(error.error.code, -32600, text);
    assert.equal(error.id, id, text);
  }
});

Deno.test("checkFrame() forwards the valid entries of a batch and answers the others", () => {
  const check = checkFrame(
    '[{"jsonrpc":"2.0","id":1,"method":"a"}, 5, {"jsonrpc":"2.0","method":"n"}]',
  );
  assert.ok(check.ok);
  assert.deepEqual(JSON.parse(check.text), [{
    jsonrpc: "2.0",
    id: 1,
    method: "a",
  }, { jsonrpc: "2.0", method: "n" }]);
  assert.equal(check.errors.length, 1);
  assert.deepEqual(check.messages.map((m) => m.kind), [
    "request",
    "notification",
  ]);
});

Deno.test("classify() tells requests, notifications and responses apart", () => {
  assert.deepEqual(classify({ jsonrpc: "2.0", id: 0, method: "m" }), {
    kind: "request",
    id: 0,
    method: "m",
  });
  assert.deepEqual(classify({ jsonrpc: "2.0", method: "m" }), {
    kind: "notification",
    id: null,
    method: "m",
  });
  assert.deepEqual(classify({ jsonrpc: "2.0", id: "x", result: {} }), {
    kind: "response",
    id: "x",
    method: undefined,
  });
  assert.deepEqual(
    classify({ jsonrpc: "2.0", id: null, error: { code: 1, message: "m" } }),
    {
      kind: "response",
      id: null,
      method: undefined,
      errorCode: 1,
    },
  );
  assert.deepEqual(
    classify({
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "echo" },
    }),
    {
      kind: "request",
      id: 3,
      method: "tools/call",
      name: "echo",
      params: { name: "echo" },
    },
  );
});

Deno.test("memberRange() and replaceMember() find and replace nested members by their source text", () => {
  const text =
    '{"jsonrpc":"2.0","id":1.0,"method":"m","params":{"_meta":{"progressToken":"a\\u0062"},"n":9007199254740993}}';
  assert.deepEqual(
    text.slice(...memberRange(text, ["params", "_meta", "progressToken"])!),
    '"a\\u0062"',
  );
  assert.equal(text.slice(...memberRange(text, ["id"])!), "1.0");
  assert.equal(memberRange(text, ["params", "missing"]), undefined);
  assert.equal(memberRange(text, ["id", "deeper"]), undefined);
  // Only the member changes: the big number keeps its digits.
  assert.equal(
    replaceMember(text, ["id"], "7"),
    text.replace('"id":1.0', '"id":7'),
  );
  // The last of two members wins, as in JSON.parse.
  assert.equal(
    replaceMember('{"id":1,"id":2}', ["id"], "3"),
    '{"id":1,"id":3}',
  );
  // Keys inside nested values or strings are not members of the top level.
  const nested = '{"params":{"id":5},"note":"\\"id\\":6","id":"x"}';
  assert.equal(nested.slice(...memberRange(nested, ["id"])!), '"x"');
});

Deno.test("checkChildLine() accepts messages and batches and refuses anything else", () => {
  assert.equal(
    checkChildLine('{"jsonrpc":"2.0","id":1,"result":{}}')?.[0]?.kind,
    "response",
  );
  assert.equal(checkChildLine('[{"jsonrpc":"2.0","method":"n"}]')?.length, 1);
  assert.equal(checkChildLine("Server started on stdio"), undefined);
  assert.equal(checkChildLine('{"hello":1}'), undefined);
  assert.equal(checkChildLine("[]"), undefined);
});

Deno.test("idKey() distinguishes numbers from numeric strings", () => {
  assert.notEqual(idKey(42), idKey("42"));
  assert.equal(idKey("a"), idKey("a"));
});

Deno.test("errorResponse() writes a JSON-RPC error with its id unchanged", () => {
  assert.deepEqual(JSON.parse(errorResponse('"7"', -32000, "m", { x: 1 })), {
    jsonrpc: "2.0",
    id: "7",
    error: { code: -32000, message: "m", data: { x: 1 } },
  });
  // The id is written exactly as the request wrote it.
  assert.match(
    errorResponse("9007199254740993", 1, "m"),
    /"id":9007199254740993,/,
  );
  assert.match(errorResponse("1.0", 1, "m"), /"id":1\.0,/);
  assert.match(errorResponse(null, 1, "m"), /"id":null,/);
});

Deno.test("checkFrame() keys ids by their source text: 1, 1.0, -0, 0 and 2^53 neighbours stay apart", () => {
  const keys = [
    "1",
    "1.0",
    "-0",
    "0",
    "9007199254740992",
    "9007199254740993",
    '"1"',
    '"\\u0031"',
    "1e0",
  ];
  for (const key of keys) {
    const text =
      `{"jsonrpc":"2.0","id":${key},"method":"m","params":{"id":99}}`;
    const check = checkFrame(text);
    assert.ok(check.ok);
    assert.equal(check.messages[0]!.key, key);
  }
  // The id written after nested objects that hold "id" keys of their own.
  const late = checkFrame(
    '{"jsonrpc":"2.0","params":{"id":5,"s":"\\"id\\":7"},"method":"m","id":-0}',
  );
  assert.ok(late.ok);
  assert.equal(late.messages[0]!.key, "-0");
  // Batch entries keep their own text and key.
  const batch = checkFrame(
    '[ {"jsonrpc":"2.0","id":1.50,"method":"a"} , {"jsonrpc":"2.0","method":"n"} ]',
  );
  assert.ok(batch.ok);
  assert.deepEqual(batch.messages.map((m) => m.key), ["1.50", undefined]);
  assert.equal(
    batch.messages[0]!.text,
    '{"jsonrpc":"2.0","id":1.50,"method":"a"}',
  );
});

Deno.test("checkFrame() answers at most 100 invalid batch entries one by one; beyond that, one error for the batch", () => {
  const some = checkFrame(
    `[${Array(100).fill("1").join(",")},{"jsonrpc":"2.0","id":1,"method":"m"}]`,
  );
  assert.ok(some.ok);
  assert.equal(some.errors.length, 100);
  assert.equal(some.text, '[{"jsonrpc":"2.0","id":1,"method":"m"}]');
  const many = checkFrame(`[${Array(100_000).fill("1").join(",")}]`);
  assert.equal(many.ok, false);
  assert.equal(many.errors.length, 1);
  const error = JSON.parse(many.errors[0]!);
  assert.equal(error.id, null);
  assert.equal(error.error.code, -32600);
  assert.match(
    error.error.message,
    /100000 of the batch's 100000 entries are invalid/,
  );
});

Deno.test("idsAtEdges() finds a leading or trailing top-level id only", () => {
  assert.deepEqual(
    idsAtEdges('{"jsonrpc":"2.0","id":"r-1","result":{"data":"yyy', 'yy"}}'),
    ['"r-1"'],
  );
  assert.deepEqual(
    idsAtEdges('{"result":{"data":"yy', 'yyy"},"jsonrpc":"2.0","id":17}'),
    ["17"],
  );
  assert.deepEqual(
    idsAtEdges('{"result":{"items":[{"id":5', '{"id":6}]}}'),
    [],
  );
});
