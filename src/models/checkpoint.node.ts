/**
 * Checkpoints: safetensors files holding the model's state dict (float32), with the model
 * configuration (and any extra JSON, e.g. epoch, optimizer hyper-parameters, metrics) in the
 * metadata. Writes are atomic (src/io/atomic.node.ts, a Node file utility): the folder is created
 * if needed, the bytes go to a temporary file in the same folder which is fsynced, then renamed
 * over the target, so a crash leaves the old file or the new one, never a truncated mix.
 *
 *   saveCheckpoint(path, model, extra?)             -> writes
 *   loadCheckpoint(path)                            -> { model, extra, metadata } (a new model built from the saved config)
 *   loadCheckpointInto(path, model, { strict })     -> loads into an existing model; a file from another
 *                                                      configuration throws a StateDictError listing every
 *                                                      differing tensor (or, strict: false, loads what matches
 *                                                      and returns the lists)
 */
import { readFileSync } from 'node:fs';
import type { Tensor } from '../autograd/tensor.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from '../data/safetensors.js';
import type { LoadStateDictResult, HostArray } from '../nn/module.js';
import { writeFileAtomic } from '../io/atomic.node.js';
import { DualAlign } from './dualalign.js';
import type { DualAlignConfig } from './config.js';

export const CHECKPOINT_FORMAT = 'dualalign-checkpoint/1';

export interface CheckpointContents {
  config: DualAlignConfig;
  stateDict: Record<string, HostArray>;
  extra: Record<string, unknown> | undefined;
  metadata: Record<string, string>;
}

/** Host copies of a model's state dict as safetensors tensors. */
export async function stateDictToSafetensors(sd: Record<string, Tensor>): Promise<Record<string, SafetensorsTensor>> {
  const out: Record<string, SafetensorsTensor> = {};
  for (const [name, t] of Object.entries(sd)) {
    const data = await t.data();
    out[name] = t.dtype === 'int32' ? { dtype: 'I32', shape: [...t.shape], data: data as Int32Array } : { dtype: 'F32', shape: [...t.shape], data: Float32Array.from(data) };
  }
  return out;
}

export async function saveCheckpoint(path: string, model: DualAlign, extra?: Record<string, unknown>): Promise<void> {
  const tensors = await stateDictToSafetensors(model.stateDict());
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    model: 'DualAlign',
    config: JSON.stringify(model.userConfig),
    params: String(model.paramCount()),
  };
  if (extra !== undefined) metadata.extra = JSON.stringify(extra);
  const bytes = encodeSafetensors(tensors, metadata);
  writeFileAtomic(path, bytes);
}

/** Reads a checkpoint without building a model. */
export function readCheckpoint(path: string): CheckpointContents {
  const file = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
  const md = file.metadata ?? {};
  if (md.format !== CHECKPOINT_FORMAT) throw new Error(`${path}: not a DualAlign checkpoint (metadata format '${md.format ?? 'missing'}', expected '${CHECKPOINT_FORMAT}')`);
  const config = JSON.parse(md.config) as DualAlignConfig;
  const stateDict: Record<string, HostArray> = {};
  for (const [name, t] of Object.entries(file.tensors)) stateDict[name] = { data: t.data as ArrayLike<number> & { length: number }, shape: t.shape };
  return { config, stateDict, extra: md.extra ? (JSON.parse(md.extra) as Record<string, unknown>) : undefined, metadata: md };
}

/** Builds the saved model and loads its weights. */
export async function loadCheckpoint(path: string): Promise<{ model: DualAlign; extra: Record<string, unknown> | undefined; metadata: Record<string, string> }> {
  const ck = readCheckpoint(path);
  const model = new DualAlign(ck.config);
  await model.loadStateDict(ck.stateDict, { strict: true });
  return { model, extra: ck.extra, metadata: ck.metadata };
}

/** Loads a checkpoint's weights into an existing model (see the module comment for strict). */
export async function loadCheckpointInto(path: string, model: DualAlign, opts: { strict?: boolean } = {}): Promise<LoadStateDictResult & { extra: Record<string, unknown> | undefined }> {
  const ck = readCheckpoint(path);
  const r = await model.loadStateDict(ck.stateDict, opts);
  return { ...r, extra: ck.extra };
}
