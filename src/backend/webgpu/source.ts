/**
 * WGSL assembly: `//#include NAME` splices a shared file from wgsl/, `{{TOKEN}}` takes a
 * specialization. Text substitution only; nothing is evaluated.
 */
import common from '../../../wgsl/common.wgsl';
import philox from '../../../wgsl/philox.wgsl';

const includes: Record<string, string> = { common, philox };

export function wgsl(template: string, tokens: Record<string, string | number> = {}): string {
  let src = template.replace(/^\/\/#include (\w+)\s*$/gm, (_, name: string) => {
    const inc = includes[name];
    if (inc === undefined) throw new Error(`WGSL include '${name}' does not exist`);
    return inc;
  });
  src = src.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const v = tokens[name];
    if (v === undefined) throw new Error(`WGSL token {{${name}}} has no value`);
    return String(v);
  });
  return src;
}

/** Packs a kernel's uniform block: u32/f32 scalars and 8-dim lists (two vec4<u32>), 16-byte aligned. */
export class Params {
  private words: number[] = [];
  private kinds: ('u' | 'f' | 'i')[] = [];
  u32(...v: number[]): this {
    for (const x of v) {
      this.words.push(x >>> 0);
      this.kinds.push('u');
    }
    return this;
  }
  i32(...v: number[]): this {
    for (const x of v) {
      this.words.push(x | 0);
      this.kinds.push('i');
    }
    return this;
  }
  f32(...v: number[]): this {
    for (const x of v) {
      this.words.push(x);
      this.kinds.push('f');
    }
    return this;
  }
  /** Pads to a 16-byte boundary (the start of a vec4 or array). */
  align(): this {
    while (this.words.length % 4 !== 0) this.u32(0);
    return this;
  }
  /** An 8-entry list as array<vec4<u32>, 2>, zero-padded. */
  dims8(v: readonly number[]): this {
    if (v.length > 8) throw new Error(`rank ${v.length} exceeds the kernels' maximum of 8`);
    this.align();
    for (let i = 0; i < 8; i++) this.u32(v[i] ?? 0);
    return this;
  }
  build(): ArrayBuffer {
    this.align();
    const buf = new ArrayBuffer(this.words.length * 4);
    const u = new Uint32Array(buf);
    const f = new Float32Array(buf);
    const s = new Int32Array(buf);
    this.words.forEach((w, i) => {
      if (this.kinds[i] === 'f') f[i] = w;
      else if (this.kinds[i] === 'i') s[i] = w;
      else u[i] = w;
    });
    return buf;
  }
}

export const wgslType = (dtype: string): string => (dtype === 'int32' ? 'i32' : 'f32');
