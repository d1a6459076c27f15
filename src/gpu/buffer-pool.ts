/**
 * GPU buffer pool. Buffers are recycled by size class (powers of two and the midpoints between
 * them), so a training loop that allocates the same shapes every step creates no new buffers after
 * its first step and waste stays under a third.
 */
export interface PoolStats {
  /** Buffers that exist on the device (in use + free). */
  liveBuffers: number;
  inUse: number;
  free: number;
  liveBytes: number;
  freeBytes: number;
}

const MIN_CLASS = 256;

export function sizeClass(bytes: number): number {
  if (bytes <= MIN_CLASS) return MIN_CLASS;
  const p = 2 ** Math.ceil(Math.log2(bytes));
  const mid = (p / 4) * 3; // 1.5 × the power below
  return bytes <= mid ? mid : p;
}

export class BufferPool {
  private freeLists = new Map<number, GPUBuffer[]>();
  private stats_ = { live: 0, inUse: 0, liveBytes: 0, freeBytes: 0 };

  /** Called just before the pool destroys a buffer (the runtime drops bind groups that use it). */
  onDestroy: ((buffer: GPUBuffer) => void) | null = null;
  /** Wraps the creation of a new buffer (the runtime catches out-of-memory there, naming `what`). */
  createGuard: ((make: () => GPUBuffer, size: number, what: string) => GPUBuffer) | null = null;

  constructor(
    private device: GPUDevice,
    private usage: GPUBufferUsageFlags,
    private label: string,
    /** Free bytes kept for reuse; beyond this, released buffers are destroyed. */
    private maxFreeBytes = 512 * 1024 * 1024,
  ) {}

  private destroy(buffer: GPUBuffer): void {
    this.onDestroy?.(buffer);
    this.stats_.live--;
    this.stats_.liveBytes -= buffer.size;
    buffer.destroy();
  }

  acquire(bytes: number, what = ''): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.freeLists.get(size);
    this.stats_.inUse++;
    if (list && list.length > 0) {
      this.stats_.freeBytes -= size;
      return list.pop()!;
    }
    const make = () => this.device.createBuffer({ size, usage: this.usage, label: `${this.label}:${size}` });
    const buffer = this.createGuard ? this.createGuard(make, size, what) : make();
    this.stats_.live++;
    this.stats_.liveBytes += size;
    return buffer;
  }

  /**
   * Buffers over the free cap, destroyed at the next `destroyRetired()`: a released buffer may
   * still be used by the recorded, not yet submitted batch, so destroying it now would fail that submit.
   */
  private retired: GPUBuffer[] = [];

  release(buffer: GPUBuffer): void {
    this.stats_.inUse--;
    const size = buffer.size;
    if (this.stats_.freeBytes + size > this.maxFreeBytes) {
      this.retired.push(buffer);
      return;
    }
    let list = this.freeLists.get(size);
    if (!list) this.freeLists.set(size, (list = []));
    list.push(buffer);
    this.stats_.freeBytes += size;
  }

  /** Destroys the buffers retired since the last call; the runtime calls it right after a submit. */
  destroyRetired(): void {
    const list = this.retired;
    this.retired = [];
    for (const b of list) this.destroy(b);
  }

  /** Destroys an acquired buffer instead of recycling it (e.g. one whose mapping failed). */
  discard(buffer: GPUBuffer): void {
    this.stats_.inUse--;
    this.destroy(buffer);
  }

  /** Destroys every free buffer (in-use buffers are untouched). */
  trim(): void {
    this.destroyRetired();
    for (const list of this.freeLists.values()) for (const b of list) this.destroy(b);
    this.freeLists.clear();
    this.stats_.freeBytes = 0;
  }

  stats(): PoolStats {
    const s = this.stats_;
    return { liveBuffers: s.live, inUse: s.inUse, free: s.live - s.inUse, liveBytes: s.liveBytes, freeBytes: s.freeBytes };
  }
}
