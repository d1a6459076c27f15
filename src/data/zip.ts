/**
 * Just enough ZIP for .npz files: read stored and deflated entries (ZIP64 included, as
 * numpy writes with force_zip64) and write stored archives. Decompression is injected
 * (`InflateRaw`) so this module carries no Node built-ins into a browser bundle: Node
 * callers pass `nodeInflateRaw` from npy.node.ts; browsers can use `inflateRawWithStream`.
 */

/** Decompresses raw DEFLATE data that must expand to exactly `expectedSize` bytes. */
export type InflateRaw = (compressed: Uint8Array, expectedSize: number) => Uint8Array;

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  crc32: number;
  localHeaderOffset: number;
}

export interface ReadZipOptions {
  inflateRaw?: InflateRaw | undefined;
  /** Refuse archives whose entries add up to more than this many bytes (default 1 GiB). */
  maxUncompressedBytes?: number | undefined;
  /** Label for error messages (e.g. the file name). */
  what?: string | undefined;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

export class ZipError extends Error {
  override name = 'ZipError';
}

function u64(view: DataView, offset: number, what: string): number {
  const value = view.getUint32(offset + 4, true) * 0x100000000 + view.getUint32(offset, true);
  if (!Number.isSafeInteger(value)) throw new ZipError(`${what}: 64-bit field is too large`);
  return value;
}

/** Lists the entries of the central directory, validating every offset against the file. */
export function listZipEntries(bytes: Uint8Array, what = 'zip'): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = findEndOfCentralDirectory(view, what);
  let entryCount = view.getUint16(eocd + 10, true);
  let directorySize = view.getUint32(eocd + 12, true);
  let directoryOffset = view.getUint32(eocd + 16, true);
  if (entryCount === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || view.getUint32(locator, true) !== ZIP64_LOCATOR_SIGNATURE) throw new ZipError(`${what}: ZIP64 locator missing`);
    const record = u64(view, locator + 8, what);
    if (record + 56 > bytes.length || view.getUint32(record, true) !== ZIP64_EOCD_SIGNATURE) throw new ZipError(`${what}: ZIP64 end record missing`);
    entryCount = u64(view, record + 32, what);
    directorySize = u64(view, record + 40, what);
    directoryOffset = u64(view, record + 48, what);
  }
  if (directoryOffset + directorySize > bytes.length) throw new ZipError(`${what}: central directory runs past the end of the file`);
  // Each entry takes at least 46 bytes, so a forged count cannot make us loop past the directory.
  if (entryCount * 46 > directorySize) throw new ZipError(`${what}: central directory too small for ${entryCount} entries`);

  const entries: ZipEntry[] = [];
  let p = directoryOffset;
  const end = directoryOffset + directorySize;
  const decoder = new TextDecoder('utf-8');
  for (let i = 0; i < entryCount; i++) {
    if (p + 46 > end || view.getUint32(p, true) !== CENTRAL_SIGNATURE) throw new ZipError(`${what}: central directory entry ${i} is corrupt`);
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    const crc32 = view.getUint32(p + 16, true);
    let compressedSize = view.getUint32(p + 20, true);
    let uncompressedSize = view.getUint32(p + 24, true);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    let localHeaderOffset = view.getUint32(p + 42, true);
    const nameStart = p + 46;
    const extraStart = nameStart + nameLength;
    const next = extraStart + extraLength + commentLength;
    if (next > end) throw new ZipError(`${what}: central directory entry ${i} runs past the directory`);
    const name = decoder.decode(bytes.subarray(nameStart, extraStart));
    if (flags & 1) throw new ZipError(`${what}: entry '${name}' is encrypted`);
    // ZIP64 extra field: the 32-bit fields that were saturated follow in a fixed order.
    for (let q = extraStart; q + 4 <= extraStart + extraLength; ) {
      const id = view.getUint16(q, true);
      const size = view.getUint16(q + 2, true);
      if (q + 4 + size > extraStart + extraLength) throw new ZipError(`${what}: entry '${name}' has a corrupt extra field`);
      if (id === 0x0001) {
        let r = q + 4;
        const take = (): number => {
          if (r + 8 > q + 4 + size) throw new ZipError(`${what}: entry '${name}' has a short ZIP64 field`);
          const value = u64(view, r, what);
          r += 8;
          return value;
        };
        if (uncompressedSize === 0xffffffff) uncompressedSize = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
      }
      q += 4 + size;
    }
    entries.push({ name, method, compressedSize, uncompressedSize, crc32, localHeaderOffset });
    p = next;
  }
  return entries;
}

function findEndOfCentralDirectory(view: DataView, what: string): number {
  const minimum = 22;
  if (view.byteLength < minimum) throw new ZipError(`${what}: too short to be a zip file (${view.byteLength} bytes)`);
  const stop = Math.max(0, view.byteLength - minimum - 0xffff);
  for (let p = view.byteLength - minimum; p >= stop; p--) {
    if (view.getUint32(p, true) === EOCD_SIGNATURE && p + minimum + view.getUint16(p + 20, true) === view.byteLength) return p;
  }
  throw new ZipError(`${what}: end of central directory not found (not a zip file, or truncated)`);
}

/** Where an entry's data starts, from its local header. */
function entryDataOffset(bytes: Uint8Array, entry: ZipEntry, what: string): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const p = entry.localHeaderOffset;
  if (p + 30 > bytes.length || view.getUint32(p, true) !== LOCAL_SIGNATURE) throw new ZipError(`${what}: local header of '${entry.name}' is corrupt`);
  const start = p + 30 + view.getUint16(p + 26, true) + view.getUint16(p + 28, true);
  if (start + entry.compressedSize > bytes.length) throw new ZipError(`${what}: data of '${entry.name}' runs past the end of the file`);
  return start;
}

/** The raw (possibly compressed) bytes of one entry. */
export function zipEntryRawData(bytes: Uint8Array, entry: ZipEntry, what = 'zip'): Uint8Array {
  const start = entryDataOffset(bytes, entry, what);
  return bytes.subarray(start, start + entry.compressedSize);
}

/** Checks the CRC and size of decompressed entry data. */
export function verifyZipEntry(entry: ZipEntry, data: Uint8Array, what = 'zip'): Uint8Array {
  if (data.length !== entry.uncompressedSize) {
    throw new ZipError(`${what}: '${entry.name}' expanded to ${data.length} bytes, expected ${entry.uncompressedSize}`);
  }
  if (crc32(data) !== entry.crc32) throw new ZipError(`${what}: CRC mismatch in '${entry.name}' (corrupt data)`);
  return data;
}

function checkTotals(entries: ZipEntry[], options: ReadZipOptions, what: string): void {
  const limit = options.maxUncompressedBytes ?? 1024 ** 3;
  let total = 0;
  for (const entry of entries) {
    // DEFLATE cannot expand more than ~1032:1, and stored data does not expand: a size
    // beyond that is a lie meant to make us allocate.
    const ceiling = entry.method === 0 ? entry.compressedSize : entry.compressedSize * 1032 + 1024;
    if (entry.uncompressedSize > ceiling) {
      throw new ZipError(`${what}: '${entry.name}' claims ${entry.uncompressedSize} bytes from ${entry.compressedSize} compressed`);
    }
    total += entry.uncompressedSize;
  }
  if (total > limit) throw new ZipError(`${what}: entries expand to ${total} bytes, more than the limit of ${limit}`);
}

/** Reads every entry synchronously. Deflated entries need `options.inflateRaw`. */
export function readZip(bytes: Uint8Array, options: ReadZipOptions = {}): Map<string, Uint8Array> {
  const what = options.what ?? 'zip';
  const entries = listZipEntries(bytes, what);
  checkTotals(entries, options, what);
  const inflateRaw = options.inflateRaw;
  return collectEntries(bytes, entries, what, (entry, raw) => {
    if (!inflateRaw) {
      throw new ZipError(`${what}: '${entry.name}' is compressed; pass an inflateRaw function (nodeInflateRaw from npy.node.ts), or use the async readers in a browser`);
    }
    return inflateRaw(raw, entry.uncompressedSize);
  });
}

/** Like readZip, but inflates with the web-standard DecompressionStream (browsers, Node >= 20). */
export async function readZipAsync(bytes: Uint8Array, options: Omit<ReadZipOptions, 'inflateRaw'> = {}): Promise<Map<string, Uint8Array>> {
  const what = options.what ?? 'zip';
  const entries = listZipEntries(bytes, what);
  checkTotals(entries, options, what);
  const inflated = new Map<ZipEntry, Uint8Array>();
  for (const entry of entries) {
    if (entry.method !== 8) continue;
    try {
      inflated.set(entry, await inflateRawWithStream(zipEntryRawData(bytes, entry, what), entry.uncompressedSize));
    } catch (error) {
      throw new ZipError(`${what}: cannot inflate '${entry.name}': ${(error as Error).message}`);
    }
  }
  return collectEntries(bytes, entries, what, (entry) => inflated.get(entry) ?? new Uint8Array(0));
}

function collectEntries(
  bytes: Uint8Array,
  entries: ZipEntry[],
  what: string,
  inflate: (entry: ZipEntry, raw: Uint8Array) => Uint8Array,
): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const entry of entries) {
    const raw = zipEntryRawData(bytes, entry, what);
    let data: Uint8Array;
    if (entry.method === 0) {
      data = raw;
    } else if (entry.method === 8) {
      try {
        data = inflate(entry, raw);
      } catch (error) {
        if (error instanceof ZipError) throw error;
        throw new ZipError(`${what}: cannot inflate '${entry.name}': ${(error as Error).message}`);
      }
    } else {
      throw new ZipError(`${what}: '${entry.name}' uses unsupported compression method ${entry.method}`);
    }
    if (out.has(entry.name)) throw new ZipError(`${what}: duplicate entry '${entry.name}'`);
    out.set(entry.name, verifyZipEntry(entry, data, what));
  }
  return out;
}

/** Raw DEFLATE via DecompressionStream, stopping as soon as output exceeds `expectedSize`. */
export async function inflateRawWithStream(compressed: Uint8Array, expectedSize: number): Promise<Uint8Array> {
  const stream = new Blob([compressed as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  const reader = stream.getReader();
  const out = new Uint8Array(expectedSize);
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (length + value.length > expectedSize) {
      await reader.cancel();
      throw new Error(`output exceeds the declared ${expectedSize} bytes`);
    }
    out.set(value, length);
    length += value.length;
  }
  return length === expectedSize ? out : out.subarray(0, length);
}

/** Writes a stored (uncompressed) zip; entries larger than 4 GiB are not supported. */
export function writeZipStored(files: ReadonlyArray<readonly [string, Uint8Array]>): Uint8Array {
  const encoder = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    if (data.length >= 0xffffffff) throw new ZipError(`entry '${name}' is too large for a stored zip`);
    const nameBytes = encoder.encode(name);
    const crc = crc32(data);
    const local = new Uint8Array(30 + nameBytes.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, LOCAL_SIGNATURE, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(6, 0x0800, true); // UTF-8 names
    lv.setUint32(14, crc, true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, nameBytes.length, true);
    local.set(nameBytes, 30);
    const central = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, CENTRAL_SIGNATURE, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(8, 0x0800, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint32(42, offset, true);
    central.set(nameBytes, 46);
    locals.push(local, data);
    centrals.push(central);
    offset += local.length + data.length;
  }
  const directorySize = centrals.reduce((n, c) => n + c.length, 0);
  if (offset + directorySize >= 0xffffffff) throw new ZipError('archive is too large for a stored zip');
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, EOCD_SIGNATURE, true);
  ev.setUint16(8, files.length, true);
  ev.setUint16(10, files.length, true);
  ev.setUint32(12, directorySize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + directorySize + eocd.length);
  let p = 0;
  for (const part of [...locals, ...centrals, eocd]) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3), as used by zip. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
