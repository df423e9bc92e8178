/**
 * Writer, UpdateStatus and Resume (containerd's content test suite), plus the open/lock
 * semantics every store shares: one writer per ref, resume after close, waiting for a ref.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Store, Writer, WriterOptions } from '../../src/content/types.js';
import { EMPTY_SHA256, digestOf, randomBytes, readAll } from '../helpers/bytes.js';
import { expectError } from '../helpers/errors.js';
import { expectBetween, putBlob, withStore, writeAll, type StoreFactory } from './fixture.js';

interface ExpectedStatus {
  ref: string;
  offset: number;
  total?: number;
  expected?: string;
}

/** containerd's checkStatus: digest so far, ref, offset, total, expected, and both timestamps in range. */
export async function checkStatus(
  w: Writer,
  want: ExpectedStatus,
  digest: string,
  started: [number, number],
  updated: [number, number],
): Promise<void> {
  expect(await w.digest()).toBe(digest);
  const st = await w.status();
  expect({ ref: st.ref, offset: st.offset, total: st.total, expected: st.expected }).toEqual({
    ref: want.ref,
    offset: want.offset,
    total: want.total,
    expected: want.expected,
  });
  expectBetween(st.startedAt, started[0], started[1], 'startedAt');
  expectBetween(st.updatedAt, updated[0], updated[1], 'updatedAt');
}

export async function checkInfo(store: Store, digest: string, size: number, created: [number, number]): Promise<void> {
  const info = await store.info(digest);
  expect(info.digest).toBe(digest);
  expect(info.size).toBe(size);
  expectBetween(info.createdAt, created[0], created[1], 'createdAt');
}

async function checkContent(store: Store, digest: string, data: Buffer): Promise<void> {
  const got = await readAll(await store.createReadStream(digest));
  expect(got.length).toBe(data.length);
  expect(got.equals(data)).toBe(true);
}

export function writerTests(factory: StoreFactory): void {
  describe('Writer', () => {
    it(
      'commits blobs from writers opened with a ref only, a size only, a digest only and both, written 32 bytes at a time',
      withStore(factory, async (store) => {
        const blobs = [0, 1, 2, 3].map(() => randomBytes(256));
        const digests = blobs.map((b) => digestOf(b));
        const opts: WriterOptions[] = [
          { ref: 'c1' },
          { ref: 'c2', total: 256 },
          { ref: 'c3', expected: digests[2] },
          { ref: 'c4', total: 256, expected: digests[3] },
        ];
        // All four are open at once, as in containerd's test.
        const writers: Writer[] = [];
        for (const o of opts) writers.push(await store.writer(o));
        try {
          for (let i = 0; i < 4; i++) {
            const w = writers[i]!;
            expect(w.ref).toBe(opts[i]!.ref);
            await writeAll(w, blobs[i]!, 32);
            expect(await w.digest()).toBe(digests[i]);
            const pre = Date.now();
            expect(await w.commit()).toBe(digests[i]);
            const post = Date.now();
            await checkInfo(store, digests[i]!, 256, [pre, post]);
            await checkContent(store, digests[i]!, blobs[i]!);
          }
        } finally {
          for (const w of writers) await w.close();
        }
        // Committed ingests are gone.
        expect(await store.listStatuses()).toEqual([]);
      }),
    );

    it(
      'writes and commits a 32 MiB blob in 1 MiB chunks',
      withStore(factory, async (store) => {
        const size = 32 * 1024 * 1024;
        const data = randomBytes(size);
        const d = digestOf(data);
        const w = await store.writer({ ref: 'big', total: size, expected: d });
        try {
          await writeAll(w, data, 1024 * 1024);
          expect((await w.status()).offset).toBe(size);
          const pre = Date.now();
          expect(await w.commit({ size, expected: d })).toBe(d);
          await checkInfo(store, d, size, [pre, Date.now()]);
        } finally {
          await w.close();
        }
        const hash = createHash('sha256');
        for await (const c of await store.createReadStream(d)) hash.update(c as Buffer);
        expect(`sha256:${hash.digest('hex')}`).toBe(d);
      }),
    );

    it(
      'hashes with the requested algorithm, or with the expected digest’s algorithm',
      withStore(factory, async (store) => {
        const a = randomBytes(1000);
        const w1 = await store.writer({ ref: 'alg-option', algorithm: 'sha512' });
        try {
          await w1.write(a);
          expect(await w1.digest()).toBe(digestOf(a, 'sha512'));
          expect(await w1.commit()).toBe(digestOf(a, 'sha512'));
        } finally {
          await w1.close();
        }
        expect((await store.info(digestOf(a, 'sha512'))).size).toBe(1000);

        const b = randomBytes(1000);
        const w2 = await store.writer({ ref: 'alg-expected', expected: digestOf(b, 'sha512') });
        try {
          expect(await w2.digest()).toBe(
            'sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
          );
          await w2.write(b);
          expect(await w2.commit()).toBe(digestOf(b, 'sha512'));
        } finally {
          await w2.close();
        }
      }),
    );

    it(
      'info().createdAt is the commit time, not the time of the last write',
      withStore(factory, async (store) => {
        const w = await store.writer({ ref: 'late-commit' });
        try {
          await w.write(randomBytes(100));
          await new Promise((r) => setTimeout(r, 300));
          const pre = Date.now();
          const d = await w.commit();
          await checkInfo(store, d, 100, [pre, Date.now()]);
        } finally {
          await w.close();
        }
      }),
    );

    it(
      'an empty blob can be written and committed',
      withStore(factory, async (store) => {
        const w = await store.writer({ ref: 'empty', total: 0 });
        try {
          expect(await w.digest()).toBe(EMPTY_SHA256);
          expect(await w.commit({ size: 0, expected: EMPTY_SHA256 })).toBe(EMPTY_SHA256);
        } finally {
          await w.close();
        }
        expect((await store.info(EMPTY_SHA256)).size).toBe(0);
        expect((await readAll(await store.createReadStream(EMPTY_SHA256))).length).toBe(0);
      }),
    );
  });

  describe('UpdateStatus', () => {
    it(
      'reports offset, prefix digest and timestamps after each write',
      withStore(factory, async (store) => {
        const c1 = randomBytes(256);
        const d1 = digestOf(c1);
        const preStart = Date.now();
        const w = await store.writer({ ref: 'c1', total: 256, expected: d1 });
        const postStart = Date.now();
        try {
          const want: ExpectedStatus = { ref: 'c1', offset: 0, total: 256, expected: d1 };
          await checkStatus(w, want, EMPTY_SHA256, [preStart, postStart], [preStart, postStart]);

          let at = 0;
          for (const n of [64, 128, 64]) {
            // Let the clock move well past any slack, so a stale updatedAt cannot pass.
            await new Promise((r) => setTimeout(r, 50));
            const pre = Date.now();
            await w.write(c1.subarray(at, at + n));
            const post = Date.now();
            at += n;
            want.offset = at;
            await checkStatus(w, want, digestOf(c1.subarray(0, at)), [preStart, postStart], [pre, post]);
            // The store's view (readable by any process) agrees on the offset while the writer holds the ref.
            const seen = await store.status('c1');
            expect(seen.offset).toBe(at);
            expect(seen.total).toBe(256);
            expect(seen.state).toBe('active');
          }
          const pre = Date.now();
          expect(await w.commit()).toBe(d1);
          await checkInfo(store, d1, 256, [pre, Date.now()]);
        } finally {
          await w.close();
        }
      }),
    );
  });

  describe('Resume', () => {
    it(
      'a writer reopened after close continues at the end of the data with the original startedAt',
      withStore(factory, async (store) => {
        const cb = randomBytes(256);
        const d = digestOf(cb);
        const first = cb.subarray(0, 128);
        const second = cb.subarray(128);
        const want: ExpectedStatus = { ref: 'cb', offset: 128, total: 256, expected: d };

        const preStart = Date.now();
        const w1 = await store.writer({ ref: 'cb', total: 256, expected: d });
        const postStart = Date.now();
        const preUpdate = Date.now();
        await w1.write(first);
        const postUpdate = Date.now();
        await checkStatus(w1, want, digestOf(first), [preStart, postStart], [preUpdate, postUpdate]);
        const startedAt = (await w1.status()).startedAt.getTime();
        await w1.close();
        await w1.close(); // idempotent

        // Closed but kept: readable from the store, no holder.
        const idle = await store.status('cb');
        expect(idle.offset).toBe(128);
        expect(idle.state).toBe('idle');
        expect(idle.startedAt.getTime()).toBe(startedAt);

        const w2 = await store.writer({ ref: 'cb', total: 256, expected: d });
        const reopened = Date.now();
        try {
          await checkStatus(w2, want, digestOf(first), [preStart, postStart], [preUpdate, reopened]);
          expect((await w2.status()).startedAt.getTime()).toBe(startedAt);

          const pre = Date.now();
          await w2.write(second);
          const post = Date.now();
          await checkStatus(w2, { ...want, offset: 256 }, d, [preStart, postStart], [pre, post]);
          const preCommit = Date.now();
          expect(await w2.commit()).toBe(d);
          await checkInfo(store, d, 256, [preCommit, Date.now()]);
        } finally {
          await w2.close();
        }
        await checkContent(store, d, cb);
        await expectError(store.status('cb'), 'NotFound');
      }),
    );

    it(
      'resumes across several close/reopen cycles and with a sha512 ingest',
      withStore(factory, async (store) => {
        const data = randomBytes(10_000);
        const d = digestOf(data, 'sha512');
        for (let at = 0; at < data.length; at += 3_000) {
          const w = await store.writer({ ref: 'cycles', algorithm: 'sha512' });
          expect((await w.status()).offset).toBe(at);
          expect(await w.digest()).toBe(digestOf(data.subarray(0, at), 'sha512'));
          await w.write(data.subarray(at, at + 3_000));
          await w.close();
        }
        const w = await store.writer({ ref: 'cycles', algorithm: 'sha512' });
        try {
          expect((await w.status()).offset).toBe(data.length);
          expect(await w.commit({ size: data.length, expected: d })).toBe(d);
        } finally {
          await w.close();
        }
        await checkContent(store, d, data);
      }),
    );
    it(
      'reopening a ref with another algorithm re-hashes the kept data with that algorithm',
      withStore(factory, async (store) => {
        const data = randomBytes(20_000);
        const w1 = await store.writer({ ref: 'switch' });
        await w1.write(data.subarray(0, 12_000));
        await w1.close();
        const w2 = await store.writer({ ref: 'switch', algorithm: 'sha512' });
        try {
          expect((await w2.status()).offset).toBe(12_000);
          expect(await w2.digest()).toBe(digestOf(data.subarray(0, 12_000), 'sha512'));
          await w2.write(data.subarray(12_000));
          expect(await w2.commit()).toBe(digestOf(data, 'sha512'));
        } finally {
          await w2.close();
        }
      }),
    );
  });

  describe('Ref locking', () => {
    it(
      'a second writer on a held ref fails with Unavailable; after close the ref opens at once',
      withStore(factory, async (store) => {
        const w = await store.writer({ ref: 'held' });
        await w.write(Buffer.from('abc'));
        const err = await expectError(store.writer({ ref: 'held' }), 'Unavailable');
        expect(err.message).toContain('held');
        expect(err.details.ref).toBe('held');
        // Another ref is unaffected.
        const other = await store.writer({ ref: 'other' });
        await other.close();
        await w.close();
        const again = await store.writer({ ref: 'held' });
        try {
          expect((await again.status()).offset).toBe(3);
        } finally {
          await again.close();
        }
      }),
    );

    it(
      'wait: a number waits at most that long, then fails with Unavailable',
      withStore(factory, async (store) => {
        const w = await store.writer({ ref: 'slow' });
        try {
          const t0 = Date.now();
          await expectError(store.writer({ ref: 'slow', wait: 300 }), 'Unavailable');
          const took = Date.now() - t0;
          expect(took).toBeGreaterThanOrEqual(250);
          expect(took).toBeLessThan(5_000);
        } finally {
          await w.close();
        }
      }),
    );

    it(
      'wait: a waiting writer gets the ref once the holder closes, and resumes its data',
      withStore(factory, async (store) => {
        const w = await store.writer({ ref: 'handoff' });
        await w.write(Buffer.from('hello '));
        const waiting = store.writer({ ref: 'handoff', wait: 10_000 });
        await new Promise((r) => setTimeout(r, 100));
        await w.close();
        const w2 = await waiting;
        try {
          expect((await w2.status()).offset).toBe(6);
          await w2.write(Buffer.from('world'));
          expect(await w2.commit()).toBe(digestOf('hello world'));
        } finally {
          await w2.close();
        }
      }),
    );

    it(
      'wait: when the expected digest was committed while waiting, the waiter gets AlreadyExists',
      withStore(factory, async (store) => {
        const data = randomBytes(4096);
        const d = digestOf(data);
        const w = await store.writer({ ref: 'race', expected: d });
        await w.write(data);
        // Checked from the start: a server may refuse the waiter as soon as the commit lands,
        // before this test gets to await it (an unobserved rejection meanwhile).
        const waiting = expectError(store.writer({ ref: 'race', expected: d, wait: 10_000 }), 'AlreadyExists');
        await new Promise((r) => setTimeout(r, 100));
        expect(await w.commit()).toBe(d);
        await w.close();
        await waiting;
        // The ref is free afterwards.
        const w3 = await store.writer({ ref: 'race' });
        await w3.close();
      }),
    );

    it(
      'an aborted ingest restarts from zero',
      withStore(factory, async (store) => {
        const w = await store.writer({ ref: 'abortme' });
        await w.write(randomBytes(1000));
        await w.close();
        expect((await store.status('abortme')).offset).toBe(1000);
        await store.abort('abortme');
        await expectError(store.status('abortme'), 'NotFound');
        expect(await store.listStatuses()).toEqual([]);
        const w2 = await store.writer({ ref: 'abortme' });
        try {
          expect((await w2.status()).offset).toBe(0);
          expect(await w2.digest()).toBe(EMPTY_SHA256);
        } finally {
          await w2.close();
        }
        await store.abort('abortme');
      }),
    );

    it(
      'listStatuses reports every ingest, filtered by ref prefix and state',
      withStore(factory, async (store) => {
        const held = await store.writer({ ref: 'layer-a', total: 100 });
        await held.write(randomBytes(10));
        const idle = await store.writer({ ref: 'layer-b' });
        await idle.write(randomBytes(20));
        await idle.close();
        const other = await store.writer({ ref: 'manifest-c' });
        await other.close();
        try {
          const all = await store.listStatuses();
          expect(all.map((s) => s.ref).sort()).toEqual(['layer-a', 'layer-b', 'manifest-c']);
          const a = all.find((s) => s.ref === 'layer-a')!;
          expect({ offset: a.offset, total: a.total, state: a.state }).toEqual({ offset: 10, total: 100, state: 'active' });
          const b = all.find((s) => s.ref === 'layer-b')!;
          expect({ offset: b.offset, state: b.state }).toEqual({ offset: 20, state: 'idle' });
          expect((await store.listStatuses({ prefix: 'layer-' })).map((s) => s.ref).sort()).toEqual(['layer-a', 'layer-b']);
          expect((await store.listStatuses({ state: 'active' })).map((s) => s.ref)).toEqual(['layer-a']);
          expect((await store.listStatuses({ state: 'idle' })).map((s) => s.ref).sort()).toEqual(['layer-b', 'manifest-c']);
        } finally {
          await held.close();
        }
        await putBlob(store, 'unrelated', randomBytes(10));
        expect((await store.listStatuses()).length).toBe(3);
      }),
    );
  });
}
