/**
 * @resvg/resvg-js is optional: without it, writeFigure writes the SVG only and tells its logger
 * once, in one line. Run in a child process on src/report/png.ts bundled to test-artifacts/ (so
 * '@resvg/resvg-js' resolves from this repository's node_modules), with Node's resolver refusing
 * it, as on a machine where the optional install was skipped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = join(import.meta.dirname, '../..');
const ART = join(ROOT, 'test-artifacts/resvg');
let dir = '';

// Preloaded with --require: resolving the package fails exactly as when it is not installed.
const HIDE_RESVG = `
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === '@resvg/resvg-js') { const e = new Error("Cannot find module '@resvg/resvg-js'"); e.code = 'MODULE_NOT_FOUND'; throw e; }
  return resolve.call(this, request, ...rest);
};
`;

function runFigures(hide: boolean): { files: string[][]; notes: string[]; onDisk: string[] } {
  const out = join(dir, hide ? 'without' : 'with');
  const script = `
    const m = await import(${JSON.stringify(pathToFileURL(join(ART, 'png.mjs')).href)});
    const notes = [];
    const log = (s) => notes.push(s);
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><rect width="20" height="10" fill="red"/></svg>';
    const files = [m.writeFigure(${JSON.stringify(join(out, 'a'))}, svg, log), m.writeFigure(${JSON.stringify(join(out, 'b'))}, svg, log)];
    console.log(JSON.stringify({ files, notes }));
  `;
  const args = [...(hide ? ['--require', join(dir, 'hide-resvg.cjs')] : []), '--input-type=module', '-e', script];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { files: string[][]; notes: string[] };
  return { ...res, onDisk: readdirSync(out).sort() };
}

describe('plots without the optional @resvg/resvg-js', () => {
  beforeAll(async () => {
    await build({
      absWorkingDir: ROOT, entryPoints: ['src/report/png.ts'], bundle: true, format: 'esm', platform: 'node', target: 'node20',
      external: ['@resvg/resvg-js'], outfile: join(ART, 'png.mjs'), logLevel: 'warning',
    });
    dir = mkdtempSync(join(tmpdir(), 'dualalign-resvg-'));
    writeFileSync(join(dir, 'hide-resvg.cjs'), HIDE_RESVG);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes SVG only, with a one-line note once per logger', () => {
    const r = runFigures(true);
    expect(r.files.map((f) => f.map((p) => p.slice(dir.length)))).toEqual([['/without/a.svg'], ['/without/b.svg']]);
    expect(r.onDisk).toEqual(['a.svg', 'b.svg']);
    expect(r.notes).toHaveLength(1);
    expect(r.notes[0]).toMatch(/^PNG plots skipped: the optional @resvg\/resvg-js is not installed .*written as SVG$/);
    expect(r.notes[0]).not.toContain('\n');
  });

  it.skipIf(!existsSync(join(ROOT, 'node_modules/@resvg/resvg-js')))('with resvg installed: SVG and PNG, no note', () => {
    const r = runFigures(false);
    expect(r.onDisk).toEqual(['a.png', 'a.svg', 'b.png', 'b.svg']);
    expect(r.notes).toEqual([]);
  });
});
