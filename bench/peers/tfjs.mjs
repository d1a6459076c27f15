// TensorFlow.js peers: one tfjs-core with the WebGPU (on the same Dawn / lavapipe adapter as ours),
// WebAssembly (XNNPACK) and CPU (plain JS) backends registered. A suite's peer entry is
// `(tf) => ({ run, output, dispose })` called with the peer's backend active; the harness makes that
// backend active again (untimed) before each of its samples, and adds the fence.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(root, 'package.json'));

export const TFJS_PEERS = {
  'tfjs-webgpu': { backend: 'webgpu', pkg: '@tensorflow/tfjs-backend-webgpu' },
  'tfjs-wasm': { backend: 'wasm', pkg: '@tensorflow/tfjs-backend-wasm' },
  'tfjs-cpu': { backend: 'cpu', pkg: '@tensorflow/tfjs-backend-cpu' },
};

let tf = null;
const instances = []; // Dawn instances must outlive their devices (see src/gpu/init.ts)

function version(pkg) {
  try {
    return require(`${pkg}/package.json`).version;
  } catch {
    return null;
  }
}

/** Loads tfjs-core and the backends in `ids` (a subset of TFJS_PEERS); returns tf. */
export async function loadTfjs(ids) {
  if (!tf) {
    if (ids.includes('tfjs-webgpu')) {
      // tfjs-backend-webgpu reads navigator.gpu when it registers: give it Dawn's (Node 20 has no
      // navigator; Node 21+ has one without gpu, hence defineProperty).
      const { create, globals } = require('webgpu');
      for (const [k, v] of Object.entries(globals)) if (!(k in globalThis)) globalThis[k] = v;
      const gpu = create([]);
      instances.push(gpu);
      const nav = globalThis.navigator ?? {};
      Object.defineProperty(globalThis, 'navigator', {
        value: Object.assign(Object.create(nav), { gpu, userAgent: nav.userAgent ?? `Node.js/${process.version}` }),
        configurable: true,
        writable: true,
      });
    }
    tf = require('@tensorflow/tfjs-core');
    for (const id of ids) require(TFJS_PEERS[id].pkg);
  }
  return tf;
}

/** Versions and the facts that matter for reading the numbers (SIMD, threads, adapter). */
export async function tfjsInfo(id) {
  const spec = TFJS_PEERS[id];
  const info = { version: version(spec.pkg), core: version('@tensorflow/tfjs-core') };
  await tf.setBackend(spec.backend);
  if (spec.backend === 'wasm') {
    info.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    info.threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  }
  if (spec.backend === 'webgpu') {
    const be = tf.backend();
    const ai = be.adapterInfo ?? {};
    info.adapter = [ai.vendor, ai.architecture, ai.description].filter(Boolean).join(' ') || 'Dawn (same adapter as ours)';
  }
  return info;
}

/** Makes the peer's backend active (untimed). */
export async function activate(id) {
  if (tf.getBackend() !== TFJS_PEERS[id].backend) await tf.setBackend(TFJS_PEERS[id].backend);
}

/** Waits for the peer's queued work: the WebGPU backend's queue is drained, the others are synchronous. */
export async function fence(id, lastOutput) {
  if (TFJS_PEERS[id].backend !== 'webgpu') return;
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
