/**
 * Hostile-input fuzzing of every reader: >= 10,000 corrupted, truncated and made-up inputs.
 * Each must either decode or throw an ordinary Error that names the problem; never crash the
 * process, hang, recurse without bound, or try to allocate memory the input does not justify
 * (which would surface as RangeError "Invalid typed array length" / "Array buffer allocation
 * failed", or as a long pause).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/data/csv.js';
import { memoryFileSource } from '../../src/data/dataset.js';
import { parseMMJDMRelease } from '../../src/data/mmjdm.js';
import { parsePythonLiteral, readNpy, readNpz } from '../../src/data/npy.js';
import { nodeInflateRaw } from '../../src/data/npy.node.js';
import { unpickle } from '../../src/data/pickle.js';
import { parsePlainDataset } from '../../src/data/plain.js';
import { decodeSafetensors } from '../../src/data/safetensors.js';
import { parseNumericCsv } from '../../src/data/uiprmd.js';
import { fixtureBytes } from './fixtures.js';

let inputs = 0;
let decoded = 0;
let slowest = 0;

/** Runs one reader on one input; only well-formed Errors are acceptable failures. */
function expectGraceful(read: () => unknown): void {
  inputs++;
  const start = performance.now();
  try {
    read();
    decoded++;
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    // TypeError/RangeError/SyntaxError would mean a reader tripped over the input instead of judging it.
    if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError || error instanceof ReferenceError) {
      throw new Error(`reader crashed with ${error.name}: ${error.message}`);
    }
    const message = (error as Error).message;
    expect(message.length).toBeGreaterThan(0);
    expect(message).not.toMatch(/Invalid (typed )?array length|allocation failed|Maximum call stack|out of memory/i);
  }
  slowest = Math.max(slowest, performance.now() - start);
}

type Mutation =
  | { kind: 'flip'; edits: Array<[number, number]> }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'huge'; at: number; width: number; value: number }
  | { kind: 'splice'; at: number; from: number; count: number };

/** Mutations aimed at the first 512 bytes (headers, length fields) half of the time. */
const position = fc.oneof(fc.integer({ min: 0, max: 511 }), fc.nat());
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), edits: fc.array(fc.tuple(position, fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: position, count: fc.integer({ min: 1, max: 32 }) }),
  fc.record({ kind: fc.constant('huge' as const), at: position, width: fc.constantFrom(1, 2, 4, 8), value: fc.constantFrom(0xff, 0x7f, 0x80, 0x00) }),
  fc.record({ kind: fc.constant('splice' as const), at: position, from: fc.nat(), count: fc.integer({ min: 1, max: 64 }) }),
);

function mutate(source: Uint8Array, m: Mutation): Uint8Array {
  const n = source.length;
  const bytes = source.slice();
  switch (m.kind) {
    case 'flip':
      for (const [at, value] of m.edits) bytes[at % n] = value;
      return bytes;
    case 'truncate':
      return bytes.subarray(0, m.at % n);
    case 'insert': {
      const at = m.at % (n + 1);
      const out = new Uint8Array(n + m.bytes.length);
      out.set(bytes.subarray(0, at));
      out.set(m.bytes, at);
      out.set(bytes.subarray(at), at + m.bytes.length);
      return out;
    }
    case 'delete': {
      const at = m.at % n;
      const out = new Uint8Array(n - Math.min(m.count, n - at));
      out.set(bytes.subarray(0, at));
      out.set(bytes.subarray(at + m.count), at);
      return out;
    }
    case 'huge':
      for (let i = 0; i < m.width; i++) bytes[(m.at + i) % n] = m.value;
      return bytes;
    case 'splice': {
      const from = m.from % n;
      const chunk = source.subarray(from, from + m.count);
      bytes.set(chunk.subarray(0, n - (m.at % n)), m.at % n);
      return bytes;
    }
  }
}

const npyFixtures = ['le_f4', 'be_i8', 'fortran_f4', 'scalar_f8', 'empty_i4', 'v2_f4', 'v3_f8', 'le_f2', 'object_dict', 'object_1d'].map((name) => fixtureBytes('npy', `${name}.npy`));
const pickleFixtures = ['reference_p2', 'reference_p3', 'reference_p4', 'reference_p5', 'split_list'].map((name) => fixtureBytes('pickle', `${name}.pkl`));
const npzFixtures = ['stored', 'compressed', 'positional'].map((name) => fixtureBytes('npz', `${name}.npz`));
const safetensorsFixture = fixtureBytes('safetensors', 'model.safetensors');

describe('fuzzing the readers with hostile input', () => {
  it('.npy: 2,500 mutated files (numeric and pickled)', () => {
    fc.assert(
      fc.property(fc.nat(npyFixtures.length - 1), mutation, fc.boolean(), (index, m, allowPickle) => {
        const input = mutate(npyFixtures[index]!, m);
        expectGraceful(() => readNpy(input, { allowPickle }));
      }),
      { numRuns: 2500, seed: 1 },
    );
  });

  it('pickle: 2,500 mutated pickles of protocols 2-5', () => {
    fc.assert(
      fc.property(fc.nat(pickleFixtures.length - 1), mutation, (index, m) => {
        const input = mutate(pickleFixtures[index]!, m);
        expectGraceful(() => unpickle(input));
      }),
      { numRuns: 2500, seed: 2 },
    );
  });

  it('pickle: 1,500 opcode soups (random opcodes with random arguments)', () => {
    const opcodes = [...'(.01234FGIJKLMNPQRSTUVXabcdeghijlopqrstu}])'].map((c) => c.charCodeAt(0)).concat(Array.from({ length: 0x19 }, (_, i) => 0x80 + i));
    const token = fc.oneof(fc.constantFrom(...opcodes), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 5 }), fc.array(token, { maxLength: 300 }), (protocol, body) => {
        const input = Uint8Array.from([0x80, protocol, ...body, 0x2e]);
        expectGraceful(() => unpickle(input, { maxMemoEntries: 1000, maxMarkDepth: 100 }));
      }),
      { numRuns: 1500, seed: 3 },
    );
  });

  it('.npz: 1,500 mutated archives, stored and deflated', () => {
    fc.assert(
      fc.property(fc.nat(npzFixtures.length - 1), mutation, (index, m) => {
        const input = mutate(npzFixtures[index]!, m);
        expectGraceful(() => readNpz(input, { inflateRaw: nodeInflateRaw, maxUncompressedBytes: 1 << 20 }));
      }),
      { numRuns: 1500, seed: 4 },
    );
  });

  it('safetensors: 1,500 mutated files and 500 made-up headers', () => {
    fc.assert(
      fc.property(mutation, (m) => {
        const input = mutate(safetensorsFixture, m);
        expectGraceful(() => decodeSafetensors(input));
      }),
      { numRuns: 1500, seed: 5 },
    );
    const tensor = fc.record({
      dtype: fc.oneof(fc.constantFrom('F32', 'F16', 'BF16', 'I64', 'U8', 'F64', 'BOOL'), fc.string({ maxLength: 4 })),
      shape: fc.array(fc.oneof(fc.integer({ min: -2, max: 8 }), fc.constant(2 ** 53), fc.double()), { maxLength: 4 }),
      data_offsets: fc.array(fc.oneof(fc.integer({ min: -4, max: 300 }), fc.constant(2 ** 60)), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(tensor, fc.jsonValue()), { maxKeys: 5 }), fc.nat(256), (header, dataLength) => {
        const json = new TextEncoder().encode(JSON.stringify(header));
        const input = new Uint8Array(8 + json.length + dataLength);
        new DataView(input.buffer).setUint32(0, json.length, true);
        input.set(json, 8);
        expectGraceful(() => decodeSafetensors(input));
      }),
      { numRuns: 500, seed: 6 },
    );
  });

  it('text formats: 800 CSVs, npy header literals and numeric CSVs', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        expectGraceful(() => parseCsv(text));
        expectGraceful(() => parsePythonLiteral(text));
        expectGraceful(() => parseNumericCsv(text, 3, 'fuzz'));
      }),
      { numRuns: 800, seed: 7 },
    );
  });

  it('dataset loaders: 300 corrupted MM-JDM releases and plain datasets', () => {
    const release = ['label.csv', 'JDM01_rgb_VST.npy', 'JDM01_flow_I3D.npy', 'JDM04_rgb_VST.npy', 'JDM04_flow_I3D.npy', 'JDM_skeleton_raw.npy', 'JDM_text_CLIP.npy', 'train_split.pkl', 'test_split.pkl'];
    const originals = new Map(release.map((name) => [name, fixtureBytes('mmjdm', name)] as const));
    fc.assert(
      fc.property(fc.constantFrom(...release), mutation, (victim, m) => {
        const files = new Map(originals);
        files.set(victim, mutate(originals.get(victim)!, m));
        expectGraceful(() => parseMMJDMRelease(memoryFileSource(files, 'fuzz')));
        const plain = new Map<string, Uint8Array>([
          ['manifest.csv', mutate(new TextEncoder().encode('id,action,grade,split\na,x,0,train\nb,x,1,test\n'), m)],
          ['video/a.npy', mutate(fixtureBytes('npy', 'le_f4.npy'), m)],
          ['video/b.npy', fixtureBytes('npy', 'le_f4.npy')],
        ]);
        expectGraceful(() => parsePlainDataset(memoryFileSource(plain, 'fuzz')));
      }),
      { numRuns: 300, seed: 8 },
    );
  });

  it('covered at least 10,000 inputs, none of them slow', () => {
    console.log(`fuzz: ${inputs} inputs, ${decoded} decoded, ${inputs - decoded} rejected with an Error, slowest ${slowest.toFixed(1)} ms`);
    expect(inputs).toBeGreaterThanOrEqual(10_000);
    expect(slowest).toBeLessThan(2000);
  });
});
