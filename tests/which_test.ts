/**
 * Tests of lib/which.ts against real files: the `#!` interpreter check that
 * `/readyz` and the startup warning rely on.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { findInterpreterProblem } from "../lib/child/which.ts";

/** A temporary directory, removed on disposal. */
async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "which_test_" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}

/** Writes an executable file. */
async function script(path: string, text: string, mode = 0o755) {
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, mode);
  return path;
}

const linux = Deno.build.os === "linux";
const hasEnv = linux && (() => {
  try {
    return Deno.statSync("/usr/bin/env").isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name:
    "findInterpreterProblem() names a #! interpreter that is missing or not executable",
  ignore: !linux,
  fn: async () => {
    await using dir = await tempDir();
    const options = { path: dir.path, cwd: dir.path };
    const missing = await script(
      join(dir.path, "missing"),
      "#!/nonexistent/interp -x\necho\n",
    );
    const problem = await findInterpreterProblem(missing, options);
    assert.equal(problem?.interpreter, "/nonexistent/interp");
    assert.equal(problem?.script, missing);
    assert.match(problem?.message ?? "", /"\/nonexistent\/interp"/);

    const plain = await script(join(dir.path, "plain"), "not executable\n");
    await Deno.chmod(plain, 0o644);
    const notExecutable = await script(
      join(dir.path, "not-executable"),
      `#! ${plain}\n`,
    );
    assert.equal(
      (await findInterpreterProblem(notExecutable, options))?.interpreter,
      plain,
    );

    // CRLF: the kernel looks for "/bin/sh\r"
    const crlf = await script(join(dir.path, "crlf"), "#!/bin/sh\r\necho\r\n");
    const crlfProblem = await findInterpreterProblem(crlf, options);
    assert.equal(crlfProblem?.interpreter, "/bin/sh\r");
    assert.match(crlfProblem?.message ?? "", /"\/bin\/sh\\r"/);

    const empty = await script(join(dir.path, "empty"), "#!\n");
    assert.equal(
      (await findInterpreterProblem(empty, options))?.interpreter,
      "",
    );

    // An interpreter that is itself a script is checked in turn.
    const inner = await script(
      join(dir.path, "inner"),
      "#!/nonexistent/deep\n",
    );
    const outer = await script(join(dir.path, "outer"), `#!${inner}\n`);
    const nested = await findInterpreterProblem(outer, options);
    assert.equal(nested?.interpreter, "/nonexistent/deep");
    assert.equal(nested?.script, inner);
  },
});

Deno.test({
  name:
    "findInterpreterProblem() accepts binaries, files without #! and working interpreters",
  ignore: !linux,
  fn: async () => {
    await using dir = await tempDir();
    const options = { path: dir.path, cwd: dir.path };
    assert.equal(
      await findInterpreterProblem(Deno.execPath(), options),
      undefined,
    );
    const sh = await script(join(dir.path, "sh-script"), "#!/bin/sh\necho\n");
    assert.equal(await findInterpreterProblem(sh, options), undefined);
    const relative = await script(join(dir.path, "relative"), `#!sh-script\n`);
    assert.equal(await findInterpreterProblem(relative, options), undefined);
    const noShebang = await script(join(dir.path, "none"), "echo hi\n");
    assert.equal(await findInterpreterProblem(noShebang, options), undefined);
    assert.equal(
      await findInterpreterProblem(join(dir.path, "absent"), options),
      undefined,
    );
    assert.equal(
      await findInterpreterProblem(sh, { ...options, windows: true }),
      undefined,
    );
  },
});

Deno.test({
  name:
    "findInterpreterProblem() looks up the NAME of #!/usr/bin/env NAME on PATH",
  ignore: !hasEnv,
  fn: async () => {
    await using dir = await tempDir();
    const bin = join(dir.path, "bin");
    await Deno.mkdir(bin);
    const options = { path: bin, cwd: dir.path };
    await script(join(bin, "my-interp"), "#!/bin/sh\n");
    for (
      const line of [
        "#!/usr/bin/env my-interp",
        "#!/usr/bin/env my-interp --flag",
        "#!/usr/bin/env -S my-interp run --flag",
        "#!/usr/bin/env -Smy-interp run",
        "#!/usr/bin/env -S A=1 my-interp",
      ]
    ) {
      const file = await script(join(dir.path, "ok"), `${line}\n`);
      assert.equal(
        await findInterpreterProblem(file, options),
        undefined,
        line,
      );
    }
    const missing = await script(
      join(dir.path, "missing"),
      "#!/usr/bin/env -S not-on-path-xyz --flag\n",
    );
    const problem = await findInterpreterProblem(missing, options);
    assert.equal(problem?.interpreter, "not-on-path-xyz");
    assert.match(problem?.message ?? "", /"not-on-path-xyz".*PATH/);
    // The name found is checked in turn: a shim whose interpreter is gone.
    await script(join(bin, "broken-shim"), "#!/nonexistent/node\n");
    const shimmed = await script(
      join(dir.path, "shimmed"),
      "#!/usr/bin/env broken-shim\n",
    );
    assert.equal(
      (await findInterpreterProblem(shimmed, options))?.interpreter,
      "/nonexistent/node",
    );
  },
});
