/**
 * State dicts and checkpoints as bytes (safetensors), on any platform: a browser can offer the
 * bytes as a download or keep them in IndexedDB; Node writes them to disk with
 * saveCheckpoint (src/models/checkpoint.node.ts, an atomic write).
 *
 *   encodeStateDict(model | stateDict, metadata?)  -> Promise<Uint8Array>   (float32 / int32 tensors)
 *   decodeStateDict(bytes)                         -> { stateDict, metadata } (host arrays for loadStateDict)
 *   encodeCheckpoint(model, extra?)                -> Promise<Uint8Array>   (a DualAlign: weights + config)
 *   decodeCheckpoint(bytes)                        -> Promise<{ model, extra, metadata }>
 *
 * A checkpoint is a state dict whose metadata carries `format: 'dualalign-checkpoint/1'`, the
 * model configuration (JSON) and any extra JSON (epoch, metrics, ...).
 */
import type { Tensor } from '../autograd/tensor.js';
import { decodeSafetensors, encodeSafetensors, SafetensorsError, type SafetensorsTensor } from '../data/safetensors.js';
import { halfBitsToFloat } from '../data/ndarray.js';
import { Module, type HostArray, type StateDict } from '../nn/module.js';
import { DualAlign } from '../models/dualalign.js';
import type { DualAlignConfig } from '../models/config.js';

export const CHECKPOINT_FORMAT = 'dualalign-checkpoint/1';

/** A decoded state dict: host arrays by dotted name, ready for `module.loadStateDict`. */
export interface DecodedStateDict {
  stateDict: Record<string, HostArray>;
  metadata: Record<string, string>;
}

export interface CheckpointContents extends DecodedStateDict {
  config: DualAlignConfig;
  extra: Record<string, unknown> | undefined;
}

export interface LoadedDualAlign {
  model: DualAlign;
  extra: Record<string, unknown> | undefined;
  metadata: Record<string, string>;
}

/** Host copies of a state dict's tensors as safetensors tensors (int32 stays I32, floats become F32). */
export async function stateDictToSafetensors(sd: StateDict): Promise<Record<string, SafetensorsTensor>> {
  const out: Record<string, SafetensorsTensor> = {};
  for (const [name, t] of Object.entries(sd)) out[name] = await toSafetensor(t);
  return out;
}

async function toSafetensor(t: Tensor): Promise<SafetensorsTensor> {
  const data = await t.data();
  return t.dtype === 'int32' ? { dtype: 'I32', shape: [...t.shape], data: data as Int32Array } : { dtype: 'F32', shape: [...t.shape], data: Float32Array.from(data) };
}

/** The safetensors bytes of a module's state dict (or of a state dict), with optional string metadata. */
export async function encodeStateDict(source: Module | StateDict, metadata?: Record<string, string>): Promise<Uint8Array> {
  const sd = source instanceof Module ? source.stateDict() : source;
  return encodeSafetensors(await stateDictToSafetensors(sd), metadata);
}

/**
 * Reads safetensors bytes into host arrays for `loadStateDict`. F16/BF16 tensors are widened to
 * float32; 64-bit integers must fit in a double exactly (else an error names the tensor).
 */
export function decodeStateDict(bytes: Uint8Array, what = 'state dict'): DecodedStateDict {
  const file = decodeSafetensors(bytes, what);
  const stateDict: Record<string, HostArray> = {};
  for (const [name, t] of Object.entries(file.tensors)) stateDict[name] = { data: hostNumbers(t, `${what}: tensor '${name}'`), shape: t.shape };
  return { stateDict, metadata: file.metadata ?? {} };
}

function hostNumbers(t: SafetensorsTensor, what: string): ArrayLike<number> & { length: number } {
  if (t.dtype === 'F16') return Float32Array.from(t.data as Uint16Array, halfBitsToFloat);
  if (t.dtype === 'BF16') return new Float32Array(Uint32Array.from(t.data as Uint16Array, (b) => b << 16).buffer);
  if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) {
    return Float64Array.from(t.data as ArrayLike<bigint>, (v) => {
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw new SafetensorsError(`${what}: ${t.dtype} value ${v} does not fit a double exactly`);
      return Number(v);
    });
  }
  return t.data as ArrayLike<number> & { length: number };
}

/** The checkpoint bytes of a DualAlign model: its state dict, its configuration and `extra` (JSON). */
export async function encodeCheckpoint(model: DualAlign, extra?: Record<string, unknown>): Promise<Uint8Array> {
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    model: 'DualAlign',
    config: JSON.stringify(model.userConfig),
    params: String(model.paramCount()),
  };
  if (extra !== undefined) metadata.extra = JSON.stringify(extra);
  return encodeStateDict(model, metadata);
}

/** Reads checkpoint bytes without building a model; `what` (e.g. the file name) prefixes errors. */
export function readCheckpointBytes(bytes: Uint8Array, what = 'checkpoint'): CheckpointContents {
  const { stateDict, metadata } = decodeStateDict(bytes, what);
  if (metadata.format !== CHECKPOINT_FORMAT) throw new Error(`${what}: not a DualAlign checkpoint (metadata format '${metadata.format ?? 'missing'}', expected '${CHECKPOINT_FORMAT}')`);
  if (metadata.config === undefined) throw new Error(`${what}: the checkpoint has no model configuration (metadata 'config')`);
  const config = parseJson(metadata.config, what, 'config') as DualAlignConfig;
  const extra = metadata.extra !== undefined ? (parseJson(metadata.extra, what, 'extra') as Record<string, unknown>) : undefined;
  return { config, stateDict, extra, metadata };
}

function parseJson(text: string, what: string, key: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what}: corrupt checkpoint (metadata '${key}' is not valid JSON)`);
  }
}

/** Builds the saved DualAlign from checkpoint bytes and loads its weights (strict: every tensor must match). */
export async function decodeCheckpoint(bytes: Uint8Array, what = 'checkpoint'): Promise<LoadedDualAlign> {
  const ck = readCheckpointBytes(bytes, what);
  const model = new DualAlign(ck.config);
  try {
    await model.loadStateDict(ck.stateDict, { strict: true });
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { model, extra: ck.extra, metadata: ck.metadata };
}
