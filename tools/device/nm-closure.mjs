// Prints the node_modules package folders (relative to the repo root) that the GPU check needs:
// the dependency closure (dependencies, optionalDependencies, installed peerDependencies) of the
// runtime dependencies plus vitest, esbuild and fast-check. Used by tools/device/pack.sh.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const roots = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ['webgpu', 'ndarray', 'cli-progress', '@resvg/resvg-js', 'vitest', 'esbuild', 'fast-check'];

/** Node's resolution: the nearest node_modules/<name> walking up from `from`. */
function resolve(name, from) {
  for (let d = from; ; d = dirname(d)) {
    const p = join(d, 'node_modules', name);
    if (existsSync(join(p, 'package.json'))) return p;
    if (d === root || d === dirname(d)) return null;
  }
}

const seen = new Set();
const stack = roots.map((n) => {
  const p = resolve(n, root);
  if (!p) throw new Error(`${n} is not installed`);
  return p;
});
while (stack.length) {
  const dir = stack.pop();
  if (seen.has(dir)) continue;
  seen.add(dir);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const names = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
  for (const n of names) {
    const p = resolve(n, dir);
    if (p) stack.push(p); // optional / peer ones not installed (other platforms, unused peers) are skipped
  }
}
console.log([...seen].map((d) => relative(root, d)).sort().join('\n'));
