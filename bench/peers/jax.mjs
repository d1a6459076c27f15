// jax-js peer (@jax-js/jax) on its WebGPU backend, on Dawn through the navigator.gpu we install (the
// same adapter as ours; jax-js's README lists Node as Wasm-only because Node has no navigator.gpu).
// jax-js arrays are reference counted and lazy: a run builds the op (or calls a jit-compiled
// function) on `.ref`s of resident inputs, each run waits for its output (jax.blockUntilReady).
import { installNavigatorGpu, versionOf, describeAdapter } from './navigator.mjs';

let jax = null;

async function load() {
  if (jax) return jax;
  installNavigatorGpu();
  jax = await import('@jax-js/jax');
  const devices = await jax.init();
  if (!devices.includes('webgpu')) throw new Error(`jax-js: init() found no WebGPU device (devices: ${devices.join(', ')})`);
  jax.defaultDevice('webgpu');
  return jax;
}

/**
 * A timed jax-js implementation: `fn(...inputs.map(x => x.ref))` builds the result from resident
 * float32 inputs ({ data, shape }); { run, output, dispose, last } for the harness.
 */
export async function jaxImpl(j, inputs, fn) {
  const xs = inputs.map(({ data, shape }) => j.numpy.array(data).reshape(shape));
  await j.blockUntilReady(xs);
  let out = null;
  return {
    // jax-js is lazy: an output disposed before it is realized is never computed, so each run
    // waits for its result (one fence per run, which the other implementations do not pay).
    run: async () => {
      out?.dispose();
      out = fn(...xs.map((x) => x.ref));
      await out.blockUntilReady();
    },
    last: () => out,
    output: async () => new Float32Array(await out.ref.data()),
    dispose: () => {
      out?.dispose();
      for (const x of xs) x.dispose();
    },
  };
}

export const PEERS = {
  'jax-webgpu': {
    gpu: true,
    load,
    info: async () => ({ package: '@jax-js/jax', version: versionOf('@jax-js/jax'), adapter: describeAdapter(jax?.getWebGPUDevice?.()?.adapterInfo) ?? 'Dawn (same adapter as ours)' }),
    fence: (last) => (last ? jax.blockUntilReady(last) : undefined),
  },
};
