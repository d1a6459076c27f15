// A quiet start: init() keeps Dawn's own warnings ("Couldn't load Vulkan", "maxDynamic… artificially
// reduced", printed natively to stderr while adapters are enumerated) out of the user's output,
// shows them with DUALALIGN_DEBUG=1, and puts them in the error when no adapter is found. Runs the
// built library in child processes whose stderr is a pipe, as a user's terminal or CI log would be.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'dualalign-quiet-'));
// Stands in for a machine without Vulkan: Dawn's dlopen of libvulkan.so.1 finds this empty file first.
const noVulkan = join(work, 'novk');
const SCRIPT = `import(${JSON.stringify(join(root, 'dist/index.js'))}).then(async (m) => {
  try {
    const info = await m.init();
    console.log(JSON.stringify({ ok: true, backend: info.backend, nativeLog: info.nativeLog ?? '' }));
    m.shutdown();
  } catch (e) {
    console.log(JSON.stringify({ ok: false, message: e.message }));
  }
});`;

function initIn(env: Record<string, string>): { stdout: Record<string, unknown>; stderr: string } {
  const base = { ...process.env };
  delete base.DUALALIGN_DEBUG;
  // Node gives a child socket pairs for stdio; a shell pipe (`2> >(cat >&2)`) is what a terminal
  // pipeline or CI log gives the process (a socket cannot be reopened, so there it passes through).
  const r = spawnSync('bash', ['-c', 'exec "$NODE" -e "$SCRIPT" 2> >(cat >&2)'], {
    env: { ...base, ...env, NODE: process.execPath, SCRIPT },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  return { stdout: JSON.parse(r.stdout.trim().split('\n').pop()!), stderr: r.stderr };
}

describe('init() keeps Dawn\'s start-up warnings out of normal output', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root });
    execFileSync('mkdir', ['-p', noVulkan]);
    writeFileSync(join(noVulkan, 'libvulkan.so.1'), '');
  });

  it('the default adapter: stderr stays empty; DUALALIGN_DEBUG=1 shows the messages', () => {
    const quiet = initIn({});
    expect(quiet.stdout.ok).toBe(true);
    expect(quiet.stderr).toBe('');
    const loud = initIn({ DUALALIGN_DEBUG: '1' });
    expect(loud.stdout.ok).toBe(true);
    // whatever Dawn printed on this adapter (lavapipe: the maxDynamic… warnings) now reaches stderr
    expect(loud.stderr.trim()).toBe(String(quiet.stdout.nativeLog).trim());
  });

  it('a machine without Vulkan: the fallback starts quietly, the debug switch shows "Couldn\'t load Vulkan"', () => {
    const env = { LD_LIBRARY_PATH: noVulkan, DUALALIGN_BACKEND: '' };
    const quiet = initIn(env);
    expect(quiet.stdout).toMatchObject({ ok: true, backend: 'webgpu-compat' });
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout.nativeLog).toContain("Couldn't load Vulkan");
    const loud = initIn({ ...env, DUALALIGN_DEBUG: '1' });
    expect(loud.stderr).toContain("Couldn't load Vulkan");
  });

  it('when init fails, the error carries what Dawn said', () => {
    const r = initIn({ LD_LIBRARY_PATH: noVulkan, DUALALIGN_BACKEND: 'webgpu' });
    expect(r.stdout.ok).toBe(false);
    expect(r.stdout.message).toContain('No WebGPU adapter was found');
    expect(r.stdout.message).toContain("Couldn't load Vulkan");
  });
});
