/**
 * Commit outcomes: CommitExists, the expected-digest check at open, size/digest mismatch,
 * and containerd's CommitErrorState walk, in which every outcome must release the ref.
 */
import { describe, expect, it } from 'vitest';
import type { Store, Writer } from '../../src/content/types.js';
import { EMPTY_SHA256, digestOf, randomBytes } from '../helpers/bytes.js';
import { expectError } from '../helpers/errors.js';
import { putBlob, withStore, type StoreFactory } from './fixture.js';

/** containerd's checkRefNotAvailable: while `ref` is held, another writer is refused with Unavailable. */
async function checkRefNotAvailable(store: Store, ref: string): Promise<void> {
  await expectError(store.writer({ ref }), 'Unavailable');
}

/** The ref opens immediately (no waiting): proves the previous writer released it. */
async function openNow(store: Store, ref: string): Promise<Writer> {
  return store.writer({ ref, wait: false });
}

export function commitTests(factory: StoreFactory): void {
  describe('CommitExists', () => {
    it(
      'committing content that already exists fails with AlreadyExists, with or without an expected digest, and removes the ingest',
      withStore(factory, async (store) => {
        const c1 = randomBytes(256);
        const d1 = digestOf(c1);
        expect(await putBlob(store, 'c1', c1, d1)).toBe(d1);
        for (const [i, expected] of [d1, undefined].entries()) {
          const ref = `c1-commitexists-${i}`;
          const w = await store.writer({ ref });
          try {
            await w.write(c1);
            const err = await expectError(w.commit({ size: c1.length, expected }), 'AlreadyExists');
            expect(err.message).toContain(d1);
          } finally {
            await w.close();
          }
          await expectError(store.status(ref), 'NotFound');
          await (await openNow(store, ref)).close();
        }
        expect((await store.info(d1)).size).toBe(256);
      }),
    );

    it(
      'a writer whose expected digest is already present is refused with AlreadyExists at open, before any byte moves',
      withStore(factory, async (store) => {
        const c = randomBytes(1000);
        const d = await putBlob(store, 'first', c);
        const err = await expectError(store.writer({ ref: 'second', expected: d }), 'AlreadyExists');
        expect(err.message).toContain(d);
        // Nothing was created for the refused ref, and it is not locked.
        await expectError(store.status('second'), 'NotFound');
        expect(await store.listStatuses()).toEqual([]);
        const w = await openNow(store, 'second');
        await w.close();
        await store.abort('second');
      }),
    );
  });

  describe('Commit verification', () => {
    it(
      'a size mismatch fails with FailedPrecondition naming both sizes; the ingest is kept and the ref released',
      withStore(factory, async (store) => {
        const data = randomBytes(260);
        const w = await store.writer({ ref: 'size' });
        await w.write(data);
        const err = await expectError(w.commit({ size: 256 }), 'FailedPrecondition');
        expect(err.message).toContain('260');
        expect(err.message).toContain('256');
        expect(err.message).toContain('size');
        await w.close();
        const st = await store.status('size');
        expect(st.offset).toBe(260);
        const w2 = await openNow(store, 'size');
        try {
          expect((await w2.status()).offset).toBe(260);
          expect(await w2.commit({ size: 260 })).toBe(digestOf(data));
        } finally {
          await w2.close();
        }
      }),
    );

    it(
      'a total declared at open is verified at commit',
      withStore(factory, async (store) => {
        const w = await store.writer({ ref: 'total', total: 100 });
        await w.write(randomBytes(99));
        const err = await expectError(w.commit(), 'FailedPrecondition');
        expect(err.message).toContain('99');
        expect(err.message).toContain('100');
        await w.close();
        expect((await store.status('total')).offset).toBe(99);
      }),
    );

    it(
      'a digest mismatch fails with FailedPrecondition naming both digests; the ingest is kept and the ref released',
      withStore(factory, async (store) => {
        const data = randomBytes(500);
        const wrong = digestOf(randomBytes(500));
        const w = await store.writer({ ref: 'dgst' });
        await w.write(data);
        const err = await expectError(w.commit({ expected: wrong }), 'FailedPrecondition');
        expect(err.message).toContain(wrong);
        expect(err.message).toContain(digestOf(data));
        await w.close();
        expect((await store.status('dgst')).offset).toBe(500);
        await expectError(store.info(wrong), 'NotFound');
        await expectError(store.info(digestOf(data)), 'NotFound');
        const w2 = await openNow(store, 'dgst');
        await w2.close();
      }),
    );

    it(
      'an expected digest declared at open is verified at commit',
      withStore(factory, async (store) => {
        const want = digestOf(randomBytes(64));
        const w = await store.writer({ ref: 'declared', expected: want });
        await w.write(randomBytes(64));
        await expectError(w.commit(), 'FailedPrecondition');
        await w.close();
        await expectError(store.info(want), 'NotFound');
      }),
    );
  });

  describe('CommitErrorState', () => {
    it(
      'AlreadyExists, digest mismatch, size mismatch, success, re-open and truncate each leave the ref free for the next writer',
      withStore(factory, async (store) => {
        const c1 = randomBytes(256);
        const d1 = digestOf(c1);
        const d2 = digestOf(randomBytes(256));
        expect(await putBlob(store, 'c1', c1, d1)).toBe(d1);
        const ref = 'c1-commiterror-state';

        // 1. Content exists (with the digest given).
        let w = await store.writer({ ref });
        await w.write(c1);
        await checkRefNotAvailable(store, ref);
        await expectError(w.commit({ size: c1.length, expected: d1 }), 'AlreadyExists');
        await expectError(store.status(ref), 'NotFound');

        // 2. Content exists (no digest given): released without close().
        w = await openNow(store, ref);
        await checkRefNotAvailable(store, ref);
        expect((await w.status()).offset).toBe(0);
        await w.write(c1);
        await expectError(w.commit({ size: c1.length }), 'AlreadyExists');
        await w.close();

        // 3. Wrong digest.
        w = await openNow(store, ref);
        await checkRefNotAvailable(store, ref);
        const more = Buffer.concat([c1, Buffer.from('more')]);
        await w.write(more);
        await expectError(w.commit({ size: more.length, expected: d2 }), 'FailedPrecondition');
        expect((await store.status(ref)).offset).toBe(260);
        await w.close();

        // 4. Wrong size (the kept 260 bytes against 256).
        w = await openNow(store, ref);
        await checkRefNotAvailable(store, ref);
        expect((await w.status()).offset).toBe(260);
        await expectError(w.commit({ size: c1.length }), 'FailedPrecondition');
        await w.close();

        // 5. Success.
        w = await openNow(store, ref);
        await checkRefNotAvailable(store, ref);
        expect(await w.commit({ size: more.length })).toBe(digestOf(more));
        await w.close();
        expect((await store.info(digestOf(more))).size).toBe(260);

        // 6. Re-open the same ref: a fresh ingest; committing existing content → AlreadyExists.
        w = await openNow(store, ref);
        expect((await w.status()).offset).toBe(0);
        await w.write(c1);
        await checkRefNotAvailable(store, ref);
        await expectError(w.commit({ size: c1.length, expected: d1 }), 'AlreadyExists');
        await w.close();

        // 7. Truncate keeps holding the ref and resets data and hash.
        w = await openNow(store, ref);
        await checkRefNotAvailable(store, ref);
        await w.write(c1);
        await w.truncate(0);
        await checkRefNotAvailable(store, ref);
        expect((await w.status()).offset).toBe(0);
        expect(await w.digest()).toBe(EMPTY_SHA256);
        expect((await store.status(ref)).offset).toBe(0);
        await w.close();

        w = await openNow(store, ref);
        expect((await w.status()).offset).toBe(0);
        await w.close();
      }),
    );
  });
}
