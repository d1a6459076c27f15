/** Node entry point for UI-PRMD: reads the gzipped CSVs from disk (see uiprmd.ts). */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { directoryFileSource } from './fileSource.node.js';
import { type UIPRMDOptions, parseUIPRMD } from './uiprmd.js';
import type { Dataset } from './types.js';

/**
 * Where UI-PRMD is expected: $DUALALIGN_UIPRMD_DIR, else `../shared/data/ui-prmd` relative
 * to the current directory (the repository root when running tests, examples and the CLI).
 */
export function defaultUIPRMDDir(): string {
  return process.env.DUALALIGN_UIPRMD_DIR ?? resolve(process.cwd(), '..', 'shared', 'data', 'ui-prmd');
}

export function isUIPRMDAvailable(dir = defaultUIPRMDDir()): boolean {
  return existsSync(resolve(dir, 'correct', 'positions')) && existsSync(resolve(dir, 'incorrect', 'positions'));
}

export function loadUIPRMD(dir = defaultUIPRMDDir(), options: UIPRMDOptions = {}): Dataset {
  return parseUIPRMD(directoryFileSource(dir), {
    ...options,
    gunzip: (bytes) => {
      const out = gunzipSync(bytes);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    },
  });
}
