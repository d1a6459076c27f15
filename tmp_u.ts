import { loadUIPRMD } from './src/data/uiprmd.node.js';
const t0 = performance.now();
const ds = loadUIPRMD(undefined, { exercises: ['m01'], maxFramesResample: 40 });
console.log((performance.now() - t0).toFixed(0), 'ms', ds.samples.length, ds.modalities, ds.actions, ds.samples[0].modalities.positions!.shape, [...new Set(ds.samples.map(s=>s.subject))]);
