/**
 * The browser entry keeps the same API as src/index.ts: every export of src/index.ts must be exported
 * by src/browser.ts unless it comes from a module that needs Node (it, or a module it imports,
 * imports `node:*` or a `*.node.ts` file). Checked with the TypeScript compiler (no browser needed),
 * and the built bundle must contain no Node built-in. Runs with or without Chromium.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = join(import.meta.dirname, '../..');

/** Module specifiers that are Node-only (dawn.ts is swapped for dawn-browser.ts by the browser build). */
const isNodeSpecifier = (spec: string) => spec.startsWith('node:') || /\.node(\.[jt]s)?$/.test(spec) || spec === 'webgpu';

function resolveLocal(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = resolve(dirname(from), spec).replace(/\.js$/, '');
  for (const c of [`${base}.ts`, join(base, 'index.ts')]) if (existsSync(c)) return c;
  return null;
}

/** The chain of imports from `file` to a Node-only module, or null when it is browser-safe. */
function nodeChain(file: string, seen = new Map<string, string[] | null>()): string[] | null {
  if (seen.has(file)) return seen.get(file)!;
  seen.set(file, null);
  if (file.endsWith('/gpu/dawn.ts')) return null;
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  let chain: string[] | null = null;
  for (const imp of info.importedFiles) {
    const spec = imp.fileName;
    if (isNodeSpecifier(spec)) {
      chain = [file, spec];
      break;
    }
    const dep = resolveLocal(file, spec);
    if (dep) {
      const sub = nodeChain(dep, seen);
      if (sub) {
        chain = [file, ...sub];
        break;
      }
    }
  }
  seen.set(file, chain);
  return chain;
}

function exportsOf(entries: string[]): Map<string, Map<string, string>> {
  const program = ts.createProgram(entries, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowJs: false,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const out = new Map<string, Map<string, string>>();
  for (const entry of entries) {
    const sf = program.getSourceFile(entry);
    if (!sf) throw new Error(`cannot read ${entry}`);
    const moduleSymbol = checker.getSymbolAtLocation(sf);
    const names = new Map<string, string>();
    for (const sym of moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : []) {
      const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
      const decl = target.declarations?.[0];
      names.set(sym.name, decl ? decl.getSourceFile().fileName : '?');
    }
    out.set(entry, names);
  }
  return out;
}

describe('browser entry (src/browser.ts)', () => {
  it('exports everything src/index.ts exports that does not need Node', () => {
    const index = join(ROOT, 'src/index.ts');
    const browser = join(ROOT, 'src/browser.ts');
    const all = exportsOf([index, browser]);
    const fromIndex = all.get(index)!;
    const fromBrowser = all.get(browser)!;
    expect(fromIndex.size).toBeGreaterThan(0);
    const missing: string[] = [];
    const nodeOnly: string[] = [];
    const byFile = new Map<string, string[]>();
    for (const [name, file] of fromIndex) {
      if (fromBrowser.has(name)) continue;
      const chain = nodeChain(file);
      if (chain) nodeOnly.push(`${name} (${chain.map((f) => f.replace(`${ROOT}/`, '')).join(' -> ')})`);
      else {
        missing.push(`${name} (from ${file.replace(`${ROOT}/`, '')})`);
        byFile.set(file, [...(byFile.get(file) ?? []), name]);
      }
    }
    if (nodeOnly.length) console.log(`[test:browser] Node-only exports left out of the browser entry: ${nodeOnly.join('; ')}`);
    const hint = [...byFile].map(([f, names]) => `export { ${names.join(', ')} } from './${f.replace(`${ROOT}/src/`, '').replace(/\.ts$/, '.js')}';`).join('\n');
    expect(missing, `browser-safe exports of src/index.ts missing from src/browser.ts; copy their lines from src/index.ts, e.g.\n${hint}\n`).toEqual([]);
    const extra = [...fromBrowser.keys()].filter((n) => !fromIndex.has(n));
    expect(extra.sort(), 'browser-only exports').toEqual(['webgpuUnavailableReason']);
  });

  it('src/browser.ts pulls in no Node-only module', () => {
    expect(nodeChain(join(ROOT, 'src/browser.ts'))).toBeNull();
  });

  it('src/io/index.ts (the browser dualalign-gpu/io) pulls in no Node-only module', () => {
    expect(nodeChain(join(ROOT, 'src/io/index.ts'))).toBeNull();
  });

  it.skipIf(!existsSync(join(ROOT, 'dist/browser/index.js')))('the built browser files (dist/browser: entries and chunks) contain no Node built-in', () => {
    const files = readdirSync(join(ROOT, 'dist/browser'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
    expect(files).toContain('index.js');
    for (const f of files) {
      const js = readFileSync(join(ROOT, 'dist/browser', f), 'utf8');
      expect(js.match(/\b(?:from|import|require)\s*\(?\s*["'](?:node:[\w/]+|fs|path|os|child_process|module|url|webgpu)["']/g) ?? [], f).toEqual([]);
      expect(js, f).not.toMatch(/\bcreateRequire\b/);
    }
  });
});
