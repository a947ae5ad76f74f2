/**
 * JSON with comments (`//`, `/* *\/`) and trailing commas, as VS Code,
 * Cursor and Claude Code files have them. Unlike `JSON.parse`, a key given
 * twice in one object is an error (naming its path), not "last wins".
 *
 * @module
 */

/** A JSON value; objects have no prototype, so any key is plain data. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** A syntax error, with where it is. */
export class JsoncError extends Error {
  /**
   * Creates the error.
   *
   * @param message What is wrong, and at which line and column.
   */
  constructor(message: string) {
    super(message);
    this.name = "JsoncError";
  }
}

/** Most nested arrays and objects; deeper input is refused. */
const MAX_DEPTH = 64;

/**
 * Parses JSON with comments and trailing commas.
 *
 * @param text The file's text (a leading BOM is skipped).
 * @returns The value.
 * @throws {JsoncError} On a syntax error or a duplicate key.
 */
export function parseJsonc(text: string): JsonValue {
  const parser = new Parser(
    text.charCodeAt(0) === 0xfeff ? text.slice(1) : text,
  );
  parser.space();
  const value = parser.value("", 0);
  parser.space();
  if (!parser.atEnd()) parser.fail("unexpected text after the value");
  return value;
}

/** A path such as `mcpServers.github.args[2]`, from its parts. */
export function pathOf(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  const plain = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key);
  const part = plain ? key : JSON.stringify(key);
  return parent === ""
    ? part
    : plain
    ? `${parent}.${part}`
    : `${parent}[${part}]`;
}

class Parser {
  #text: string;
  #at = 0;

  constructor(text: string) {
    this.#text = text;
  }

  atEnd(): boolean {
    return this.#at >= this.#text.length;
  }

  fail(problem: string): never {
    const before = this.#text.slice(0, this.#at);
    const line = before.split("\n").length;
    const column = this.#at - before.lastIndexOf("\n");
    throw new JsoncError(`${problem} at line ${line}, column ${column}`);
  }

  /** Skips white space and comments. */
  space(): void {
    const text = this.#text;
    while (this.#at < text.length) {
      const c = text[this.#at]!;
      if (c === " " || c === "\t" || c === "\n" || c === "\r") {
        this.#at++;
      } else if (text.startsWith("//", this.#at)) {
        const end = text.indexOf("\n", this.#at);
        this.#at = end === -1 ? text.length : end + 1;
      } else if (text.startsWith("/*", this.#at)) {
        const end = text.indexOf("*/", this.#at + 2);
        if (end === -1) this.fail("unterminated comment");
        this.#at = end + 2;
      } else {
        return;
      }
    }
  }

  value(path: string, depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    const c = this.#text[this.#at];
    if (c === "{") return this.#object(path, depth);
    if (c === "[") return this.#array(path, depth);
    if (c === '"') return this.#string();
    const literal =
      /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/
        .exec(this.#text.slice(this.#at, this.#at + 400));
    if (literal === null) {
      this.fail(
        c === undefined ? "unexpected end of file" : `unexpected "${c}"`,
      );
    }
    this.#at += literal[0].length;
    return JSON.parse(literal[0]) as JsonValue;
  }

  #object(path: string, depth: number): JsonValue {
    const result: { [key: string]: JsonValue } = Object.create(null);
    this.#at++;
    for (;;) {
      this.space();
      if (this.#text[this.#at] === "}") {
        this.#at++;
        return result;
      }
      if (this.#text[this.#at] !== '"') this.fail("expected a key in quotes");
      const key = this.#string();
      const keyPath = pathOf(path, key);
      if (Object.hasOwn(result, key)) this.fail(`duplicate key ${keyPath}`);
      this.space();
      if (this.#text[this.#at] !== ":") this.fail('expected ":"');
      this.#at++;
      this.space();
      result[key] = this.value(keyPath, depth + 1);
      this.space();
      const next = this.#text[this.#at];
      if (next === ",") this.#at++;
      else if (next !== "}") this.fail('expected "," or "}"');
    }
  }

  #array(path: string, depth: number): JsonValue {
    const result: JsonValue[] = [];
    this.#at++;
    for (;;) {
      this.space();
      if (this.#text[this.#at] === "]") {
        this.#at++;
        return result;
      }
      result.push(this.value(pathOf(path, result.length), depth + 1));
      this.space();
      const next = this.#text[this.#at];
      if (next === ",") this.#at++;
      else if (next !== "]") this.fail('expected "," or "]"');
    }
  }

  #string(): string {
    const text = this.#text;
    let end = this.#at + 1;
    for (;;) {
      const c = text.charCodeAt(end);
      if (Number.isNaN(c)) this.fail("unterminated string");
      if (c === 0x22) break;
      if (c < 0x20) this.fail("control character in a string");
      end += c === 0x5c ? 2 : 1;
    }
    const raw = text.slice(this.#at, end + 1);
    try {
      const value = JSON.parse(raw) as string;
      this.#at = end + 1;
      return value;
    } catch {
      return this.fail("invalid escape in a string");
    }
  }
}
