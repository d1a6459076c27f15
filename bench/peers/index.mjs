// Peer registry: every peer id → { gpu, load() → ctx, info(), activate?(), fence(last) }. A case's
// `peers[id]` is `(ctx) => impl`, ctx being what the peer's load() returned (tf for the tfjs peers,
// { gpu, resident } for gpu.js, the jax module for jax-js). PyTorch CPU runs as separate scripts
// (bench/torch_*.py) in the self-timed suites.
import { PEERS as TFJS } from './tfjs.mjs';
import { PEERS as GPUJS } from './gpujs.mjs';
import { PEERS as JAX } from './jax.mjs';

export const PEERS = { ...TFJS, ...GPUJS, ...JAX };
export const PEER_ORDER = Object.keys(PEERS);
/** The peers `--quick` runs: the GPU ones and tfjs-wasm (tfjs-cpu is slow and adds nothing to a smoke test). */
export const QUICK_PEERS = ['tfjs-webgpu', 'tfjs-wasm', 'gpujs-webgpu', 'jax-webgpu'];
