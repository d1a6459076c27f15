/**
 * Checkpoints on disk (Node): safetensors files holding the model's state dict (float32), with the
 * model configuration (and any extra JSON, e.g. epoch, optimizer hyper-parameters, metrics) in the
 * metadata. The bytes are made by src/io/checkpoint.ts (which browsers use directly). Writes are
 * atomic (src/io/atomic.node.ts): the folder is created if needed, the bytes go to a temporary file
 * in the same folder which is fsynced, then renamed over the target, so a crash leaves the old
 * file or the new one, never a truncated mix.
 *
 *   saveCheckpoint(path, model, extra?)             -> writes
 *   loadCheckpoint(path)                            -> { model, extra, metadata } (a new model built from the saved config)
 *   loadCheckpointInto(path, model, { strict })     -> loads into an existing model; a file from another
 *                                                      configuration throws a StateDictError listing every
 *                                                      differing tensor (or, strict: false, loads what matches
 *                                                      and returns the lists)
 */
import { readFileSync } from 'node:fs';
import type { LoadStateDictResult } from '../nn/module.js';
import { writeFileAtomic } from '../io/atomic.node.js';
import { decodeCheckpoint, encodeCheckpoint, readCheckpointBytes, type CheckpointContents, type LoadedDualAlign } from '../io/checkpoint.js';
import type { DualAlign } from './dualalign.js';

export { CHECKPOINT_FORMAT, stateDictToSafetensors, type CheckpointContents } from '../io/checkpoint.js';

export async function saveCheckpoint(path: string, model: DualAlign, extra?: Record<string, unknown>): Promise<void> {
  writeFileAtomic(path, await encodeCheckpoint(model, extra));
}

/** Reads a checkpoint without building a model. */
export function readCheckpoint(path: string): CheckpointContents {
  return readCheckpointBytes(new Uint8Array(readFileSync(path)), path);
}

/** Builds the saved model and loads its weights. */
export async function loadCheckpoint(path: string): Promise<LoadedDualAlign> {
  return decodeCheckpoint(new Uint8Array(readFileSync(path)), path);
}

/** Loads a checkpoint's weights into an existing model (see the module comment for strict). */
export async function loadCheckpointInto(path: string, model: DualAlign, opts: { strict?: boolean } = {}): Promise<LoadStateDictResult & { extra: Record<string, unknown> | undefined }> {
  const ck = readCheckpoint(path);
  const r = await model.loadStateDict(ck.stateDict, opts);
  return { ...r, extra: ck.extra };
}
