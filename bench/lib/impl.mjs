// Small builders for the { run, output, dispose, last } implementations the harness times, shared
// by the suites: ours (library tensors) and the tfjs peers follow the same pattern — inputs made once,
// each run replaces the previous output.

/** Ours: `fn(...tensors)` on resident inputs ({ data, shape }); the output tensor is replaced per run. */
export function oursImpl(L, inputs, fn) {
  const xs = inputs.map(({ data, shape }) => L.tensor(data, shape));
  let out = null;
  return {
    run: () => {
      out?.dispose();
      out = fn(...xs);
    },
    output: () => out.data(),
    dispose: () => {
      out?.dispose();
      for (const x of xs) x.dispose();
    },
  };
}

/** A tfjs peer: `fn(tf, ...tensors)` inside tf.tidy (intermediates freed), output replaced per run. */
export function tfjsImpl(tf, inputs, fn) {
  const xs = inputs.map(({ data, shape }) => tf.tensor(data, shape));
  let out = null;
  return {
    run: () => {
      out?.dispose();
      out = tf.tidy(() => fn(tf, ...xs));
    },
    last: () => out,
    output: () => out.data(),
    dispose: () => {
      out?.dispose();
      for (const x of xs) x.dispose();
    },
  };
}

/** The same tfjs implementation for each of the three tfjs backends. */
export const tfjsPeers = (inputs, fn) => Object.fromEntries(['tfjs-webgpu', 'tfjs-wasm', 'tfjs-cpu'].map((id) => [id, (tf) => tfjsImpl(tf, inputs, fn)]));

/** One Float32Array holding the given arrays one after the other. */
export function concatFloat32(arrays) {
  const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}
