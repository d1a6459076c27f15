/**
 * The capability probe: one tiny known-answer dispatch at init (wgsl/probe.wgsl) that finds the
 * driver bugs the kernels work around. It looks at what the adapter computes, never at vendor or
 * version strings. The result is the runtime's `quirks` (also in deviceInfo()); docs/ENGINE.md
 * ("Driver bugs") has the reproductions.
 */
import template from '../../wgsl/probe.wgsl';
import treeCode from '../../wgsl/rowreduce-tree.wgsl';
import { wgsl } from '../backend/webgpu/source.js';
import type { GpuRuntime, Kernel } from './runtime.js';

export interface AdapterQuirks {
  /**
   * The shader compiler may move a workgroup-memory read past a later workgroupBarrier (the GLSL
   * compiler of Mesa < 23, behind Dawn's OpenGL ES adapter): tree reductions then pin their reads.
   */
  sharedReadsMoved: boolean;
  /**
   * Loop iterations one invocation may run in all before the driver silently ends its loops
   * (llvmpipe of Mesa 22: about 65,535), or null when none showed up in PROBE_LOOP_TRIPS. Kernels
   * whose loops grow with the input split the work to stay under it, or refuse.
   */
  loopLimit: number | null;
}

/** What the probe assumes before it has run (and on the CPU backend): no bugs. */
export const NO_QUIRKS: AdapterQuirks = Object.freeze({ sharedReadsMoved: false, loopLimit: null });

/** Tests only: make the probe kernel compute a wrong answer, as the buggy driver would. */
export type ProbePlant = 'none' | 'shared-read' | 'loop-limit';

const PROBE_LOOP_TRIPS = 1 << 17;
const PLANT_CODE: Record<ProbePlant, number> = { none: 0, 'shared-read': 1, 'loop-limit': 2 };

const probeKernel: Kernel = {
  name: 'capability_probe',
  key: 'probe',
  bindings: ['uniform', 'rw'],
  code: () => wgsl(template, { ROW_REDUCE: wgsl(treeCode, { PIN_READS: 'false' }) }),
};

/** Runs the known-answer dispatch and reads what it found (one pipeline, one dispatch, 516 bytes back). */
export async function probeAdapter(rt: GpuRuntime, plant: ProbePlant = 'none'): Promise<AdapterQuirks> {
  const out = rt.alloc(129 * 4, 'capability probe');
  try {
    rt.dispatch(probeKernel, new Uint32Array([PROBE_LOOP_TRIPS, PLANT_CODE[plant], 0, 0]).buffer, [out], [1]);
    const r = new Float32Array(await rt.read(out, 129 * 4));
    let lanesRight = true;
    for (let lane = 0; lane < 64; lane++) lanesRight &&= r[2 * lane] === 64 && r[2 * lane + 1] === 128;
    const loops = r[128];
    return { sharedReadsMoved: !lanesRight, loopLimit: loops < PROBE_LOOP_TRIPS ? loops : null };
  } finally {
    rt.free(out);
  }
}
