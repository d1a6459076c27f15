/** Browser stand-in for dawn.ts: a browser gets WebGPU from navigator.gpu only. */
export async function nodeGpu(_flags: string[]): Promise<GPU | null> {
  return null;
}
