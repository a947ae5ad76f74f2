/**
 * Lists the functions with the most self time in a V8 .cpuprofile, such as
 * the one `deno task bench --profile DIR` makes the runner write.
 *
 * Usage: `deno run --allow-read bench/profile_top.ts FILE.cpuprofile [N]`
 *
 * @module
 */

interface ProfileNode {
  id: number;
  callFrame: {
    functionName: string;
    url: string;
    lineNumber: number;
  };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, count = "30"] = Deno.args;
if (file === undefined) {
  throw new Error("Usage: profile_top.ts FILE.cpuprofile [N]");
}
const profile: Profile = JSON.parse(await Deno.readTextFile(file));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map<string, number>();
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i]!);
  const micros = profile.timeDeltas[i] ?? 0;
  if (node === undefined) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^.*\/(main|lib|node_modules|ext)\//, "$1/");
  const key = `${functionName || "(anonymous)"} ${where}:${lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + micros);
  total += micros;
}
const lines = [`total sampled: ${(total / 1000).toFixed(0)} ms`];
for (
  const [key, micros] of [...self].sort((a, b) => b[1] - a[1]).slice(
    0,
    Number(count),
  )
) {
  lines.push(
    `${(micros / 1000).toFixed(1).padStart(9)} ms ${
      ((100 * micros) / total).toFixed(1).padStart(5)
    }%  ${key}`,
  );
}
await Deno.stdout.write(new TextEncoder().encode(lines.join("\n") + "\n"));
