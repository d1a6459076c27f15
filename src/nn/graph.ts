/**
 * Graph convolution over skeleton joints and the built-in joint layouts.
 *
 * GraphConv: Y = Â X W + b with the symmetric normalized adjacency Â = D^(−1/2) (A + I) D^(−1/2)
 * (Kipf & Welling), X [..., J, Cin] -> Y [..., J, Cout]. Â is a fixed buffer.
 *
 * Layouts (joint count, edges as index pairs):
 *  - 'coco17'     COCO-17 keypoints (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles),
 *                 the 19 limbs of the COCO skeleton.
 *  - 'halpe26'    the authors' 26-joint layout (alias 'mmjdm26'). MM-JDM's skeletons come from a
 *                 26-keypoint whole-body detector; we take the Halpe-26 order (also used by
 *                 src/data/synthetic.ts): 0 nose, 1 L-eye, 2 R-eye, 3 L-ear, 4 R-ear, 5 L-shoulder,
 *                 6 R-shoulder, 7 L-elbow, 8 R-elbow, 9 L-wrist, 10 R-wrist, 11 L-hip, 12 R-hip,
 *                 13 L-knee, 14 R-knee, 15 L-ankle, 16 R-ankle, 17 head top, 18 neck, 19 pelvis,
 *                 20 L-big-toe, 21 R-big-toe, 22 L-small-toe, 23 R-small-toe, 24 L-heel, 25 R-heel.
 *                 Tree (25 bones) rooted at the pelvis: pelvis–neck–head top–nose–eyes–ears,
 *                 neck–shoulders–elbows–wrists, pelvis–hips–knees–ankles–heels–{big, small} toes.
 *                 (AlphaPose's Halpe pairs leave the face detached; we join nose to head top and
 *                 hang both toes from the heel so the graph is one tree.)
 *  - 'kinect25'   Kinect v2 / NTU RGB+D 25 joints (24 bones, the NTU tree).
 *  - 'uiprmd22'   UI-PRMD's 22 Vicon joints (edges imported from src/data/uiprmd.ts).
 *  - custom:      `{ joints, edges }` with any edge list.
 */
import type { Tensor } from '../autograd/tensor.js';
import { matmul, linear } from '../autograd/ops/linalg.js';
import { tidy } from '../autograd/engine.js';
import { UIPRMD_EDGES, UIPRMD_JOINTS } from '../data/uiprmd.js';
import { Module } from './module.js';
import { fromValues, kaimingUniform, linearBias } from './init.js';
import type { FlopCounter } from './layers.js';

export type Edge = readonly [number, number];

export interface JointLayout {
  name: string;
  joints: number;
  edges: readonly Edge[];
}

export type JointLayoutName = 'coco17' | 'halpe26' | 'mmjdm26' | 'kinect25' | 'uiprmd22';
export type JointLayoutSpec = JointLayoutName | JointLayout | { joints: number; edges: readonly Edge[] };

export const COCO17: JointLayout = {
  name: 'coco17',
  joints: 17,
  edges: [
    [15, 13], [13, 11], [16, 14], [14, 12], [11, 12], [5, 11], [6, 12], [5, 6], [5, 7], [6, 8],
    [7, 9], [8, 10], [1, 2], [0, 1], [0, 2], [1, 3], [2, 4], [3, 5], [4, 6],
  ],
};

export const HALPE26: JointLayout = {
  name: 'halpe26',
  joints: 26,
  edges: [
    [19, 18], [18, 17], [17, 0], [0, 1], [0, 2], [1, 3], [2, 4], // spine, head, face
    [18, 5], [18, 6], [5, 7], [7, 9], [6, 8], [8, 10], // arms
    [19, 11], [19, 12], [11, 13], [13, 15], [12, 14], [14, 16], // legs
    [15, 24], [16, 25], [24, 20], [24, 22], [25, 21], [25, 23], // feet
  ],
};

/** NTU RGB+D (Kinect v2) bones, 1-based in the NTU papers; 0-based here. */
export const KINECT25: JointLayout = {
  name: 'kinect25',
  joints: 25,
  edges: (
    [
      [1, 2], [2, 21], [3, 21], [4, 3], [5, 21], [6, 5], [7, 6], [8, 7], [9, 21], [10, 9], [11, 10], [12, 11],
      [13, 1], [14, 13], [15, 14], [16, 15], [17, 1], [18, 17], [19, 18], [20, 19], [22, 23], [23, 8], [24, 25], [25, 12],
    ] as [number, number][]
  ).map(([a, b]) => [a - 1, b - 1] as const),
};

export const UIPRMD22: JointLayout = { name: 'uiprmd22', joints: UIPRMD_JOINTS, edges: UIPRMD_EDGES };

export const JOINT_LAYOUTS: Readonly<Record<JointLayoutName, JointLayout>> = {
  coco17: COCO17,
  halpe26: HALPE26,
  mmjdm26: { ...HALPE26, name: 'mmjdm26' },
  kinect25: KINECT25,
  uiprmd22: UIPRMD22,
};

/** Resolves a layout name or custom spec, checking every edge is in range. */
export function resolveLayout(spec: JointLayoutSpec): JointLayout {
  const layout: JointLayout =
    typeof spec === 'string'
      ? JOINT_LAYOUTS[spec] ??
        (() => {
          throw new Error(`unknown joint layout '${spec}'; built-in: ${Object.keys(JOINT_LAYOUTS).join(', ')}, or pass { joints, edges }`);
        })()
      : { name: (spec as JointLayout).name ?? 'custom', joints: spec.joints, edges: spec.edges };
  for (const [a, b] of layout.edges) {
    if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= 0 && a < layout.joints && b < layout.joints)) {
      throw new Error(`joint layout '${layout.name}': edge [${a}, ${b}] is out of range for ${layout.joints} joints`);
    }
  }
  return layout;
}

/** D^(−1/2) (A + I) D^(−1/2) as a row-major Float64Array [J·J] (A symmetric, from undirected edges). */
export function normalizedAdjacency(joints: number, edges: readonly Edge[]): Float64Array {
  const A = new Float64Array(joints * joints);
  for (let i = 0; i < joints; i++) A[i * joints + i] = 1;
  for (const [a, b] of edges) {
    if (a === b) continue;
    A[a * joints + b] = 1;
    A[b * joints + a] = 1;
  }
  const dInvSqrt = new Float64Array(joints);
  for (let i = 0; i < joints; i++) {
    let d = 0;
    for (let j = 0; j < joints; j++) d += A[i * joints + j];
    dInvSqrt[i] = 1 / Math.sqrt(d);
  }
  for (let i = 0; i < joints; i++) for (let j = 0; j < joints; j++) A[i * joints + j] *= dInvSqrt[i] * dInvSqrt[j];
  return A;
}

/**
 * One graph convolution: Y = Â (X W) + b over the joint axis (second to last) of X [..., J, Cin].
 * W is initialized like nn.Linear (kaiming-uniform a = √5), b like nn.Linear's bias.
 */
export class GraphConv extends Module implements FlopCounter {
  weight: Tensor;
  bias: Tensor | null;
  adjacency: Tensor;
  readonly layout: JointLayout;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    layout: JointLayoutSpec,
    opts: { bias?: boolean } = {},
  ) {
    super();
    this.layout = resolveLayout(layout);
    this.weight = this.registerParameter('weight', kaimingUniform([outChannels, inChannels], Math.sqrt(5)));
    this.bias = opts.bias === false ? null : this.registerParameter('bias', linearBias(outChannels, inChannels));
    const J = this.layout.joints;
    this.adjacency = this.registerBuffer('adjacency', fromValues(normalizedAdjacency(J, this.layout.edges), [J, J]), false);
  }
  forward(x: Tensor): Tensor {
    const J = this.layout.joints;
    if (x.rank < 2 || x.shape[x.rank - 2] !== J || x.shape[x.rank - 1] !== this.inChannels) {
      throw new Error(`GraphConv: expected [..., ${J}, ${this.inChannels}], got ${x.describe()}`);
    }
    const xw = linear(x, this.weight, null);
    const y = matmul(this.adjacency, xw); // [J, J] @ [..., J, Cout] broadcasts over the leading dims
    xw.dispose();
    if (!this.bias) return y;
    const out = y.add(this.bias);
    y.dispose();
    return out;
  }
  /**
   * The same convolution on joint-major input X [B, J, T, Cin] -> [B, J, T, Cout]: Â mixes the
   * joints of every frame at once as one [J, J] @ [B, J, T·Cout] matmul (much fewer, larger tiles
   * than a [J, J] matmul per frame).
   */
  forwardJointMajor(x: Tensor): Tensor {
    const J = this.layout.joints;
    if (x.rank !== 4 || x.shape[1] !== J || x.shape[3] !== this.inChannels) {
      throw new Error(`GraphConv.forwardJointMajor: expected [B, ${J}, T, ${this.inChannels}], got ${x.describe()}`);
    }
    const [B, , T] = x.shape;
    return tidy(() => {
      const xw = linear(x, this.weight, null).reshape([B, J, T * this.outChannels]);
      const y = matmul(this.adjacency, xw).reshape([B, J, T, this.outChannels]);
      return this.bias ? y.add(this.bias) : y;
    });
  }
  flops(inputShape: readonly number[]): number {
    const rows = inputShape.slice(0, -1).reduce((p, d) => p * d, 1); // (..., J)
    const J = this.layout.joints;
    return 2 * rows * this.inChannels * this.outChannels + 2 * (rows / J) * J * J * this.outChannels;
  }
}
