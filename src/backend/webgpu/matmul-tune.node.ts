/**
 * Node's store for matmul tunings (matmul-tune.ts): one JSON file, $XDG_CACHE_HOME/dualalign-gpu/
 * matmul-tune.json (default ~/.cache/...), holding a tuning per key (adapter, Mesa version, CPU
 * model and its vector extensions). Unreadable or stale entries are ignored (the tune runs again);
 * a failed write is ignored too (the tuning stays in memory for this process).
 */
import { readFileSync } from 'node:fs';
import { cpus, homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.node.js';
import type { MatmulTuning, TuneStore } from './matmul-tune.js';

function cachePath(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'dualalign-gpu', 'matmul-tune.json');
}

/** 'AMD EPYC avx2 avx512f': the CPU model and the vector extensions llvmpipe can use. */
export function cpuIdentity(): string {
  const model = cpus()[0]?.model?.trim() ?? 'unknown CPU';
  let flags: string[] = [];
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const line = /^flags\s*:(.*)$/m.exec(info)?.[1] ?? '';
    const have = new Set(line.trim().split(/\s+/));
    flags = ['avx', 'avx2', 'fma', 'avx512f'].filter((f) => have.has(f));
  } catch {
    /* not Linux: the model name alone */
  }
  return [model, ...flags].join(' ');
}

function readAll(): Record<string, MatmulTuning> {
  try {
    const v = JSON.parse(readFileSync(cachePath(), 'utf8'));
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

export const nodeTuneStore: TuneStore = {
  machine: cpuIdentity,
  load: (key) => {
    const t = readAll()[key];
    return t && typeof t === 'object' && t.rates && typeof t.rates === 'object' ? t : null;
  },
  save: (t) => {
    try {
      const all = readAll();
      all[t.key] = t;
      writeFileAtomic(cachePath(), `${JSON.stringify(all, null, 1)}\n`);
    } catch {
      /* read-only home: keep the tuning in memory */
    }
  },
};
