/** Paths and loaders for the committed data fixtures (written by tools/make_data_fixtures.py). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'data');

export function fixtureBytes(...parts: string[]): Uint8Array {
  const buffer = readFileSync(join(FIXTURES, ...parts));
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

export function fixtureJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(join(FIXTURES, ...parts), 'utf8')) as T;
}

/** Flat values as comparable numbers/strings (64-bit ints as decimal strings, as in the JSON). */
export function flatValues(data: ArrayLike<number | bigint>): Array<number | string> {
  return Array.from(data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? v.toString() : v));
}
