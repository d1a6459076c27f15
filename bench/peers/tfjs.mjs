// TensorFlow.js peers: one tfjs-core with the WebGPU (on the same Dawn / lavapipe adapter as ours),
// WebAssembly (XNNPACK) and CPU (plain JS) backends registered. A suite's peer entry is
// `(tf) => ({ run, output, dispose })` called with the peer's backend active; the harness makes that
// backend active again (untimed) before each of its samples, and adds the fence.
import { describeAdapter, installNavigatorGpu, requireFromRoot, versionOf } from './navigator.mjs';

const BACKENDS = {
  'tfjs-webgpu': { backend: 'webgpu', pkg: '@tensorflow/tfjs-backend-webgpu' },
  'tfjs-wasm': { backend: 'wasm', pkg: '@tensorflow/tfjs-backend-wasm' },
  'tfjs-cpu': { backend: 'cpu', pkg: '@tensorflow/tfjs-backend-cpu' },
};

let tf = null;

function load(id) {
  if (BACKENDS[id].backend === 'webgpu') installNavigatorGpu(); // read when the backend registers
  tf ??= requireFromRoot('@tensorflow/tfjs-core');
  requireFromRoot(BACKENDS[id].pkg);
  return tf;
}

/** Versions and the facts that matter for reading the numbers (SIMD, threads, adapter). */
async function info(id) {
  const spec = BACKENDS[id];
  const out = { package: spec.pkg, version: versionOf(spec.pkg), core: versionOf('@tensorflow/tfjs-core') };
  await tf.setBackend(spec.backend);
  if (spec.backend === 'wasm') {
    out.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    out.threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  }
  if (spec.backend === 'webgpu') out.adapter = describeAdapter(tf.backend().adapterInfo) ?? 'Dawn (same adapter as ours)';
  return out;
}

/** Waits for the peer's queued work: the WebGPU backend's queue is drained, the others are synchronous. */
async function fence(id, lastOutput) {
  if (BACKENDS[id].backend !== 'webgpu') return;
  const be = tf.backend();
  if (typeof be.submitQueue === 'function' && be.device?.queue) {
    if (be.commandEncoder) {
      be.endComputePassEncoder?.();
      be.submitQueue();
    }
    await be.device.queue.onSubmittedWorkDone();
  } else if (lastOutput) {
    await lastOutput.data();
  }
}

/** Peer id → { load, info, activate, fence } (see bench/peers/index.mjs). */
export const PEERS = Object.fromEntries(
  Object.entries(BACKENDS).map(([id, spec]) => [
    id,
    {
      gpu: spec.backend === 'webgpu',
      load: async () => load(id),
      info: () => info(id),
      // Makes the peer's backend active (untimed).
      activate: async () => {
        if (tf.getBackend() !== spec.backend) await tf.setBackend(spec.backend);
      },
      fence: (last) => fence(id, last),
    },
  ]),
);

// The per-id functions under their earlier names (bench/suites/attention.mjs loads tfjs through them).
export const TFJS_PEERS = BACKENDS;
/** Loads tfjs-core and the backends in `ids`; returns tf. */
export async function loadTfjs(ids) {
  for (const id of ids) load(id);
  return tf;
}
export const tfjsInfo = (id) => PEERS[id].info();
export const activate = (id) => PEERS[id].activate();
export { fence };
