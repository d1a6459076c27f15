/**
 * dualalign-gpu/io on Node: everything in src/io/index.ts, plus files. Every write is atomic
 * (a temporary file in the same folder, fsynced, renamed over the target).
 */
export * from './index.js';
export { saveCheckpoint, loadCheckpoint, loadCheckpointInto, readCheckpoint } from '../models/checkpoint.node.js';
export { readNpyFile, readNpzFile, writeNpyFile, writeNpzFile, nodeInflateRaw } from '../data/npy.node.js';
export { writeFileAtomic, writeJsonAtomic } from './atomic.node.js';
