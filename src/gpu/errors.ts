/** Errors the library throws. Each names what was wrong so a user can fix it without a debugger. */

/** Input of the wrong shape, dtype or kind. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

/** A GPU-side failure: invalid kernel, out of memory, lost device, allocation past a limit. */
export class GpuError extends Error {
  override name = 'GpuError';
}

/** No WebGPU adapter could be found. */
export class NoAdapterError extends GpuError {
  override name = 'NoAdapterError';
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function assert(cond: unknown, message: () => string): asserts cond {
  if (!cond) throw new ShapeError(message());
}
