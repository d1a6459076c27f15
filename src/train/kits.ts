/** The model kits by name, and loading a checkpoint of any kind. */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { dualAlignKit } from './dualalignKit.js';
import { pooledMlpKit } from './pooledMlp.js';
import { temporalConvKit } from './temporalConv.js';
import type { LoadedCheckpoint, ModelKit } from './types.js';

export const KITS: Record<string, ModelKit> = { dualalign: dualAlignKit, mlp: pooledMlpKit, tcn: temporalConvKit };

/** The name a results table gives each kit's rows. */
export const METHOD_NAMES: Record<string, string> = { dualalign: 'DualAlign', mlp: 'Pooled MLP', tcn: 'Temporal CNN (anchor)' };

export function methodName(kit: Pick<ModelKit, 'name'>): string {
  return METHOD_NAMES[kit.name] ?? kit.name;
}

export function kitByName(name: string): ModelKit {
  const kit = KITS[name];
  if (!kit) throw new Error(`unknown model '${name}' (known: ${Object.keys(KITS).join(', ')})`);
  return kit;
}

/** The safetensors metadata `format` of a file, reading only its header. */
export function checkpointFormat(path: string): string | undefined {
  const size = statSync(path).size;
  if (size < 8) throw new Error(`${path}: ${size} bytes is too short for a checkpoint (truncated or not a checkpoint)`);
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(8);
    readSync(fd, head, 0, 8, 0);
    const len = Number(head.readBigUInt64LE(0));
    if (!(len > 1 && len < 100_000_000 && 8 + len <= size)) throw new Error(`${path}: not a safetensors checkpoint (header length ${len} for a file of ${size} bytes)`);
    const json = Buffer.alloc(len);
    readSync(fd, json, 0, len, 8);
    let header: { __metadata__?: Record<string, string> };
    try {
      header = JSON.parse(json.toString('utf8')) as typeof header;
    } catch {
      throw new Error(`${path}: corrupt checkpoint (its header is not valid JSON)`);
    }
    return header.__metadata__?.format;
  } finally {
    closeSync(fd);
  }
}

export function kitForCheckpoint(path: string): ModelKit {
  const format = checkpointFormat(path);
  if (format === 'dualalign-checkpoint/1') return dualAlignKit;
  if (format === 'dualalign-gpu/pooled-mlp') return pooledMlpKit;
  if (format === 'dualalign-gpu/temporal-conv') return temporalConvKit;
  throw new Error(`${path}: not a model checkpoint of this library (format '${format ?? 'none'}')`);
}

export async function loadAnyCheckpoint(path: string): Promise<LoadedCheckpoint & { kit: ModelKit }> {
  const kit = kitForCheckpoint(path);
  return { ...(await kit.load(path)), kit };
}
