/**
 * containerd's ResumeTruncate / ResumeDiscard / ResumeCopy / ResumeCopySeeker /
 * ResumeCopyReaderAt, through writeBlob: for sizes {500, 5000, 50000} × written fractions
 * {0, .1, .5, .9, 1}, part of the blob is written under the ref and the writer closed
 * (keeping the data); then writeBlob must finish the ingest to the right digest, using the
 * source the way its kind allows — and only that way.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Store, Writer } from '../../src/content/types.js';
import { writeBlob, type BlobSource } from '../../src/content/write-blob.js';
import { digestOf, randomBytes, readAll } from '../helpers/bytes.js';
import { withStore, type StoreFactory } from './fixture.js';

const SIZES = [500, 5000, 50000];
const FRACTIONS = [0, 0.1, 0.5, 0.9, 1];
const CHUNK = 1024;

/** What writeBlob did to the writer and the source. */
interface Trace {
  truncates: number[];
  written: number;
  /** Bytes the source handed out. */
  served: number;
  seeks: number[];
  /** Lowest position of a ranged read. */
  minReadAt: number;
  restarts: number;
}

function newTrace(): Trace {
  return { truncates: [], written: 0, served: 0, seeks: [], minReadAt: Infinity, restarts: 0 };
}

/** A view of `store` whose writers record truncate() and write() calls into `trace`. */
function tracingStore(store: Store, trace: Trace): Store {
  const wrapWriter = (w: Writer): Writer =>
    new Proxy(w, {
      get(target, prop) {
        if (prop === 'truncate') {
          return (size: number) => {
            trace.truncates.push(size);
            return target.truncate(size);
          };
        }
        if (prop === 'write') {
          return (chunk: Uint8Array) => {
            trace.written += chunk.byteLength;
            return target.write(chunk);
          };
        }
        const v = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'writer') return async (opts: Parameters<Store['writer']>[0]) => wrapWriter(await target.writer(opts));
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

function* chunks(b: Buffer, from = 0): Generator<Buffer> {
  for (let i = from; i < b.length; i += CHUNK) yield b.subarray(i, Math.min(i + CHUNK, b.length));
}

interface Strategy {
  name: string;
  describe: string;
  source(b: Buffer, trace: Trace): BlobSource;
  /** Checks that writeBlob used the source as intended, having found `limit` bytes already written. */
  check(trace: Trace, limit: number, size: number): void;
}

const strategies: Strategy[] = [
  {
    name: 'ResumeTruncate',
    describe: 'a source that can only restart: writeBlob truncates the ingest to 0 and rewrites everything',
    source: (b, trace) => () => {
      trace.restarts++;
      return (async function* () {
        for (const c of chunks(b)) {
          trace.served += c.length;
          yield c;
        }
      })();
    },
    check(trace, limit, size) {
      expect(trace.restarts).toBe(1);
      expect(trace.truncates).toEqual(limit > 0 ? [0] : []);
      expect(trace.written).toBe(size);
    },
  },
  {
    name: 'ResumeDiscard',
    describe: 'a plain stream: writeBlob discards the first offset bytes and appends the rest',
    source: (b, trace) =>
      Readable.from(
        (function* () {
          for (const c of chunks(b)) {
            trace.served += c.length;
            yield c;
          }
        })(),
      ),
    check(trace, limit, size) {
      expect(trace.truncates).toEqual([]);
      expect(trace.written).toBe(size - limit);
      expect(trace.served).toBe(size);
    },
  },
  {
    name: 'ResumeCopy',
    describe: 'a plain async reader: writeBlob skips what the ingest holds and appends the rest',
    source: (b, trace) =>
      (async function* () {
        for (const c of chunks(b)) {
          trace.served += c.length;
          yield new Uint8Array(c);
        }
      })(),
    check(trace, limit, size) {
      expect(trace.truncates).toEqual([]);
      expect(trace.written).toBe(size - limit);
    },
  },
  {
    name: 'ResumeCopySeeker',
    describe: 'a seekable source: writeBlob seeks to the offset and never reads the bytes before it',
    source(b, trace) {
      let pos = 0;
      return {
        seek(offset: number) {
          trace.seeks.push(offset);
          pos = offset;
        },
        async *[Symbol.asyncIterator]() {
          for (const c of chunks(b, pos)) {
            trace.served += c.length;
            yield c;
          }
        },
      };
    },
    check(trace, limit, size) {
      expect(trace.truncates).toEqual([]);
      expect(trace.seeks).toEqual([limit]);
      expect(trace.served).toBe(size - limit);
      expect(trace.written).toBe(size - limit);
    },
  },
  {
    name: 'ResumeCopyReaderAt',
    describe: 'a source with ranged reads: writeBlob reads only from the offset on',
    source: (b, trace) => ({
      size: b.length,
      async read(position: number, length: number) {
        trace.minReadAt = Math.min(trace.minReadAt, position);
        const out = b.subarray(position, Math.min(position + Math.min(length, CHUNK), b.length));
        trace.served += out.length;
        return out;
      },
    }),
    check(trace, limit, size) {
      expect(trace.truncates).toEqual([]);
      if (limit < size) expect(trace.minReadAt).toBe(limit);
      expect(trace.served).toBe(size - limit);
      expect(trace.written).toBe(size - limit);
    },
  },
];

export function resumeTests(factory: StoreFactory): void {
  for (const s of strategies) {
    describe(s.name, () => {
      it(
        `${s.describe} (sizes ${SIZES.join('/')} × written ${FRACTIONS.join('/')})`,
        withStore(factory, async (store) => {
          for (const [i, size] of SIZES.entries()) {
            for (const [j, fraction] of FRACTIONS.entries()) {
              const b = randomBytes(size);
              const d = digestOf(b);
              const limit = Math.floor(size * fraction);
              const ref = `ref-${i}-${j}`;
              const where = `${s.name} size ${size} written ${limit}`;

              const w = await store.writer({ ref, total: size, expected: d });
              await w.write(b.subarray(0, limit));
              await w.close();
              expect((await store.status(ref)).offset, where).toBe(limit);

              const trace = newTrace();
              const result = await writeBlob(tracingStore(store, trace), ref, s.source(b, trace), { size, expected: d });
              expect(result.digest, where).toBe(d);
              expect(result.existed, where).toBe(false);
              s.check(trace, limit, size);

              const info = await store.info(d);
              expect(info.size, where).toBe(size);
              expect((await readAll(await store.createReadStream(d))).equals(b), where).toBe(true);
              await expect(store.status(ref), where).rejects.toMatchObject({ kind: 'NotFound' });
            }
          }
        }),
      );
    });
  }

  describe('writeBlob', () => {
    it(
      'content that already exists is a success without transfer, whether found at open or at commit',
      withStore(factory, async (store) => {
        const b = randomBytes(3000);
        const d = digestOf(b);
        expect((await writeBlob(store, 'first', Readable.from([b]), { size: b.length, expected: d })).existed).toBe(false);
        let pulled = 0;
        const lazy = (async function* () {
          pulled++;
          yield b;
        })();
        const again = await writeBlob(store, 'second', lazy, { size: b.length, expected: d });
        expect(again).toMatchObject({ digest: d, existed: true, written: 0 });
        expect(pulled).toBe(0);
        // Without an expected digest the duplicate is only found at commit.
        const third = await writeBlob(store, 'third', Readable.from([b]));
        expect(third).toMatchObject({ digest: d, existed: true });
        expect(await store.listStatuses()).toEqual([]);
      }),
    );

    it(
      'a source that fails midway keeps every byte it delivered, and the next writeBlob resumes after them',
      withStore(factory, async (store) => {
        const b = randomBytes(500_000);
        const d = digestOf(b);
        const failing = (async function* () {
          for (let i = 0; i < 300_000; i += 1000) yield b.subarray(i, i + 1000);
          throw new Error('connection reset');
        })();
        await expect(writeBlob(store, 'flaky', failing, { size: b.length, expected: d })).rejects.toThrow('connection reset');
        expect((await store.status('flaky')).offset).toBe(300_000);
        const trace = newTrace();
        const done = await writeBlob(tracingStore(store, trace), 'flaky', Readable.from(chunks(b)), { size: b.length, expected: d });
        expect(done).toMatchObject({ digest: d, existed: false, written: 200_000 });
        expect(trace.truncates).toEqual([]);
      }),
    );

    it(
      'an aborted writeBlob keeps every byte the source delivered before the abort',
      withStore(factory, async (store) => {
        const b = randomBytes(400_000);
        const controller = new AbortController();
        const source = (async function* () {
          for (let i = 0; i < 250_000; i += 1000) yield b.subarray(i, i + 1000);
          controller.abort();
          yield b.subarray(250_000, 251_000);
        })();
        await expect(writeBlob(store, 'aborted', source, { size: b.length, signal: controller.signal })).rejects.toBeDefined();
        const kept = (await store.status('aborted')).offset;
        expect(kept).toBeGreaterThanOrEqual(250_000);
        expect(kept).toBeLessThanOrEqual(251_000);
        const done = await writeBlob(store, 'aborted', Readable.from(chunks(b)), { size: b.length, expected: digestOf(b) });
        expect(done).toMatchObject({ digest: digestOf(b), existed: false, written: b.length - kept });
      }),
    );

    it(
      'a kept ingest longer than the declared size is restarted from zero',
      withStore(factory, async (store) => {
        const b = randomBytes(2000);
        const w = await store.writer({ ref: 'too-long' });
        await w.write(randomBytes(3000));
        await w.close();
        const done = await writeBlob(store, 'too-long', Readable.from([b]), { size: 2000, expected: digestOf(b) });
        expect(done).toMatchObject({ digest: digestOf(b), existed: false, written: 2000 });
      }),
    );

    it(
      'a source shorter than the declared size fails with FailedPrecondition and keeps what was written for a resume',
      withStore(factory, async (store) => {
        const b = randomBytes(5000);
        const d = digestOf(b);
        await expect(writeBlob(store, 'short', Readable.from([b.subarray(0, 3000)]), { size: 5000, expected: d })).rejects.toMatchObject({
          kind: 'FailedPrecondition',
        });
        expect((await store.status('short')).offset).toBe(3000);
        const done = await writeBlob(store, 'short', Readable.from([b]), { size: 5000, expected: d });
        expect(done).toMatchObject({ digest: d, existed: false, written: 2000 });
      }),
    );
  });
}
