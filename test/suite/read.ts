/** Reading committed blobs: SmallBlob, ranged reads, streams, delete. */
import { describe, expect, it } from 'vitest';
import { digestOf, randomBytes, readAll } from '../helpers/bytes.js';
import { expectError } from '../helpers/errors.js';
import { putBlob, withStore, type StoreFactory } from './fixture.js';

export function readTests(factory: StoreFactory): void {
  describe('SmallBlob', () => {
    it(
      'a ranged read past the end of a blob returns exactly the blob',
      withStore(factory, async (store) => {
        const blob = Buffer.from('foobar');
        const d = digestOf(blob);
        const w = await store.writer({ ref: 'SmallBlob', total: blob.length, expected: d });
        try {
          await w.write(blob);
          expect(await w.commit({ size: blob.length, expected: d })).toBe(d);
        } finally {
          await w.close();
        }
        const ra = await store.readerAt(d);
        try {
          expect(ra.size).toBe(6);
          const got = await ra.read(0, blob.length + 1);
          expect(got.toString()).toBe('foobar');
          expect(digestOf(got)).toBe(d);
          expect((await ra.read(3, 100)).toString()).toBe('bar');
          expect((await ra.read(6, 10)).length).toBe(0);
          expect((await ra.read(100, 10)).length).toBe(0);
        } finally {
          await ra.close();
        }
      }),
    );
  });

  describe('Readers', () => {
    it(
      'readerAt serves arbitrary ranges of a larger blob',
      withStore(factory, async (store) => {
        const data = randomBytes(300_000);
        const d = await putBlob(store, 'ranges', data);
        const ra = await store.readerAt(d);
        try {
          expect(ra.size).toBe(data.length);
          for (const [pos, len] of [
            [0, 1],
            [1, 65_536],
            [123_457, 100_000],
            [299_999, 1],
            [299_990, 1_000],
            [0, 300_000],
          ] as const) {
            const got = await ra.read(pos, len);
            expect(got.equals(data.subarray(pos, Math.min(pos + len, data.length)))).toBe(true);
          }
        } finally {
          await ra.close();
        }
      }),
    );

    it(
      'createReadStream reads the whole blob or an inclusive start/end range',
      withStore(factory, async (store) => {
        const data = randomBytes(200_000);
        const d = await putBlob(store, 'stream', data);
        expect((await readAll(await store.createReadStream(d))).equals(data)).toBe(true);
        expect((await readAll(await store.createReadStream(d, { start: 10, end: 19 }))).equals(data.subarray(10, 20))).toBe(true);
        expect((await readAll(await store.createReadStream(d, { start: 150_000 }))).equals(data.subarray(150_000))).toBe(true);
        expect((await readAll(await store.createReadStream(d, { end: 0 }))).equals(data.subarray(0, 1))).toBe(true);
      }),
    );
  });

  describe('Delete', () => {
    it(
      'a deleted blob is gone from info, readers and walk; deleting it again is NotFound',
      withStore(factory, async (store) => {
        const keep = await putBlob(store, 'keep', randomBytes(100));
        const gone = await putBlob(store, 'gone', randomBytes(100));
        await store.delete(gone);
        await expectError(store.info(gone), 'NotFound');
        await expectError(store.readerAt(gone), 'NotFound');
        await expectError(store.createReadStream(gone), 'NotFound');
        await expectError(store.path(gone), 'NotFound');
        await expectError(store.delete(gone), 'NotFound');
        const seen: string[] = [];
        for await (const i of store.walk()) seen.push(i.digest);
        expect(seen).toEqual([keep]);
        // The same content can be written again.
        const again = randomBytes(100);
        const d = await putBlob(store, 'again', again);
        await store.delete(d);
        expect(await putBlob(store, 'again', again)).toBe(d);
      }),
    );
  });
}
