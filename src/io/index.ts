/**
 * dualalign-gpu/io: reading and writing arrays, tensors and models as bytes, on any platform
 * (the browser bundle exports this too). src/io/index.node.ts adds the Node file functions.
 *
 *   .npy / .npz      readNpy, writeNpy, readNpz (readNpzAsync inflates with DecompressionStream), writeNpz
 *   .safetensors     encodeSafetensors, decodeSafetensors
 *   state dicts      encodeStateDict, decodeStateDict (safetensors bytes)
 *   checkpoints      encodeCheckpoint, decodeCheckpoint, readCheckpointBytes (a DualAlign with its config)
 *   pickle           unpickle (allow-listed: it re-implements a fixed set of numpy / builtin
 *                    constructors, never imports or calls anything; another GLOBAL is an error)
 */
export { readNpy, writeNpy, readNpz, readNpzAsync, writeNpz, readNpyHeader, NpyError, type ReadNpyOptions, type ReadNpzOptions, type NpyHeader, type InflateRaw } from '../data/npy.js';
export type { NdArrayLike, NumericDType, NumericData, ObjectArray } from '../data/ndarray.js';
export { encodeSafetensors, decodeSafetensors, SafetensorsError, type SafetensorsDType, type SafetensorsTensor, type SafetensorsFile } from '../data/safetensors.js';
export { unpickle, isPyTuple, PickleError, type UnpickleOptions } from '../data/pickle.js';
export {
  CHECKPOINT_FORMAT, encodeStateDict, decodeStateDict, stateDictToSafetensors, encodeCheckpoint, decodeCheckpoint, readCheckpointBytes,
  type DecodedStateDict, type CheckpointContents, type LoadedDualAlign,
} from './checkpoint.js';
