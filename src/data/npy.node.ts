/**
 * Node-only helpers for npy.ts: file reading and a zlib-backed inflate whose output is
 * capped at the size the archive declares (so a zip bomb fails instead of exhausting memory).
 */
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import {
  type NdArrayLike,
  type ReadNpyOptions,
  type ReadNpzOptions,
  readNpy,
  readNpz,
  writeNpy,
  writeNpz,
} from './npy.js';
import { writeFileAtomic } from '../io/atomic.node.js';
import type { InflateRaw } from './zip.js';

export const nodeInflateRaw: InflateRaw = (compressed, expectedSize) => {
  // maxOutputLength makes zlib stop (with an error) instead of allocating past the declared size.
  const out = inflateRawSync(compressed, { maxOutputLength: Math.max(1, expectedSize) });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
};

export function readNpyFile(path: string, options: ReadNpyOptions = {}): unknown {
  return readNpy(readFileSync(path), { what: path, ...options });
}

export function readNpzFile(path: string, options: ReadNpzOptions = {}): Record<string, unknown> {
  return readNpz(readFileSync(path), { what: path, inflateRaw: nodeInflateRaw, ...options });
}

/** Writes an .npy file atomically (a crash leaves the old file or the new one). */
export function writeNpyFile(path: string, arr: NdArrayLike): void {
  writeFileAtomic(path, writeNpy(arr));
}

/** Writes an uncompressed .npz file atomically. */
export function writeNpzFile(path: string, arrays: Record<string, NdArrayLike>): void {
  writeFileAtomic(path, writeNpz(arrays));
}
