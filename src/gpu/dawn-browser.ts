/** Browser stand-in for dawn.ts: a browser gets WebGPU from navigator.gpu only. */
import type { TuneStore } from '../backend/webgpu/matmul-tune.js';
export async function nodeGpu(_flags: string[]): Promise<GPU | null> {
  return null;
}

/** Browser stand-in: there is no native log to capture. */
export function captureNativeStderr<T>(fn: () => T): { value: T; text: string } {
  return { value: fn(), text: '' };
}

export function debugEnabled(): boolean {
  return false;
}

/** A browser keeps matmul tunings in memory only. */
export async function platformTuneStore(): Promise<TuneStore | null> {
  return null;
}
