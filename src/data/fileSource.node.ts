/** A DatasetFileSource over a folder on disk (Node only). */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DatasetFileSource } from './dataset.js';

export function directoryFileSource(root: string): DatasetFileSource {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`${root}: dataset folder not found`);
  const resolve = (path: string): string => join(root, ...path.split('/').filter((p) => p !== ''));
  return {
    root,
    read(path) {
      const full = resolve(path);
      try {
        return statSync(full).isFile() ? readFileSync(full) : undefined;
      } catch {
        return undefined;
      }
    },
    list(dir) {
      try {
        return readdirSync(resolve(dir)).sort();
      } catch {
        return [];
      }
    },
    isDirectory(path) {
      try {
        return statSync(resolve(path)).isDirectory();
      } catch {
        return false;
      }
    },
  };
}
