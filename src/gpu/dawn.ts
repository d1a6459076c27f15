/**
 * Node's WebGPU: Dawn through the npm package `webgpu`. The browser build swaps this module for
 * dawn-browser.ts (see scripts/build.mjs), so no Node built-in reaches the bundle.
 */
import { closeSync, constants, existsSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { TuneStore } from '../backend/webgpu/matmul-tune.js';
export async function nodeGpu(flags: string[]): Promise<GPU | null> {
  if (!process.env.XDG_RUNTIME_DIR) {
    // Mesa's drivers want a private runtime folder; headless servers often have none.
    process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'dualalign-xdg-'));
  }
  const mod = await import('webgpu');
  // Dawn's globals (GPUBufferUsage, GPUMapMode, ...) are needed by code written against the web API.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  // Timestamps at full resolution: Dawn rounds them to 2^16 ns by default (a browser's defence
  // against timing attacks), too coarse for profile()'s per-dispatch GPU times.
  return mod.create([...flags, 'disable-dawn-features=timestamp_quantization']) as GPU;
}

/** Where matmul tunings persist in Node: a JSON file under ~/.cache (src/backend/webgpu/matmul-tune.node.ts). */
export async function platformTuneStore(): Promise<TuneStore | null> {
  return (await import('../backend/webgpu/matmul-tune.node.js')).nodeTuneStore;
}

/** Whether DUALALIGN_DEBUG asks for Dawn's and the driver's own messages as they happen. */
export function debugEnabled(): boolean {
  const v = process.env.DUALALIGN_DEBUG;
  return !!v && v !== '0' && v !== 'false';
}

/**
 * Runs `fn` (synchronous native work: Dawn enumerates adapters inside requestAdapter() and logs
 * what it finds with fprintf(stderr); it has no logging callback) with the process's stderr, file
 * descriptor 2, sent to a temporary file, and returns what was written there. Node has no dup2, so
 * the stream is kept as a second descriptor opened through /proc/self/fd, fd 2 is closed and the
 * file opened (it gets the lowest free number, 2), and afterwards the stream is opened again the
 * same way. Reopening is faithful only for a terminal or other character device, a pipe or an
 * append-mode file; for anything else (a socket, a file being overwritten, no /proc) nothing is
 * redirected and the messages pass through. A throw from `fn` is rethrown after the restore, with
 * the captured text on the error's `nativeLog`.
 */
export function captureNativeStderr<T>(fn: () => T): { value: T; text: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dualalign-log-'));
  const path = join(dir, 'stderr');
  try {
    const saved = secondStderr();
    if (saved === null) return { value: fn(), text: '' };
    closeSync(2);
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch {
      putBackStderr(saved);
      return { value: fn(), text: '' };
    }
    if (fd !== 2) {
      // Another thread took descriptor 2 in the instant between those two calls: leave it be.
      closeSync(fd);
      closeSync(saved);
      return { value: fn(), text: '' };
    }
    let value: T;
    try {
      value = fn();
    } catch (e) {
      putBackStderr(saved);
      const text = readFileSync(path, 'utf8');
      if (e && typeof e === 'object') (e as { nativeLog?: string }).nativeLog = text;
      throw e;
    }
    putBackStderr(saved);
    return { value, text: readFileSync(path, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A second descriptor on the stream behind fd 2, when it can be reopened faithfully; else null. */
function secondStderr(): number | null {
  if (process.platform !== 'linux' || !existsSync('/proc/self/fd/2')) return null;
  try {
    const st = fstatSync(2);
    let flags = constants.O_WRONLY;
    if (st.isFile()) {
      // a regular file keeps its offset per open: only an append-mode one can be reopened
      const info = readFileSync('/proc/self/fdinfo/2', 'utf8');
      const m = /^flags:\s*([0-7]+)/m.exec(info);
      if (!m || (parseInt(m[1], 8) & constants.O_APPEND) === 0) return null;
      flags |= constants.O_APPEND;
    } else if (st.isFIFO()) {
      flags |= constants.O_NONBLOCK; // fails (ENXIO) instead of blocking when no one reads the pipe
    } else if (!st.isCharacterDevice()) {
      return null;
    }
    const fd = openSync('/proc/self/fd/2', flags);
    stderrFlags = flags & ~constants.O_NONBLOCK;
    return fd;
  } catch {
    return null;
  }
}

let stderrFlags = 0;

/** Closes the capture file on fd 2 and reopens the saved stream there (on /dev/null if that fails). */
function putBackStderr(saved: number): void {
  try {
    closeSync(2);
  } catch {
    /* already closed */
  }
  try {
    const fd = openSync(`/proc/self/fd/${saved}`, stderrFlags);
    if (fd !== 2) closeSync(fd);
  } catch {
    openSync('/dev/null', 'w'); // never leave 2 free for the next file opened to take
  } finally {
    closeSync(saved);
  }
}
