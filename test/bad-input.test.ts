/**
 * Bad input: every malformed argument, missing blob or misuse of a writer is a clear
 * ContentError of the right kind — and leaves the store exactly as it was.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store, Writer } from '../src/content/types.js';
import { openStore, type LocalStore } from '../src/index.js';
import { absentDigest, digestOf, randomBytes } from './helpers/bytes.js';
import { expectError } from './helpers/errors.js';
import { cleanupAll, makeTempDir, type TempDir } from './helpers/tmp.js';
import { snapshotTree, type TreeSnapshot } from './helpers/tree.js';
import { putBlob } from './suite/fixture.js';

afterAll(cleanupAll);

const HEX = 'a'.repeat(64);
const MALFORMED_DIGESTS: Array<[string, unknown]> = [
  ['upper-case hex', `sha256:${'A'.repeat(64)}`],
  ['upper-case algorithm', `SHA256:${HEX}`],
  ['hex one character short', `sha256:${HEX.slice(1)}`],
  ['hex one character long', `sha256:${HEX}0`],
  ['sha512 with a sha256-length hex', `sha512:${HEX}`],
  ['unknown algorithm', `md5:${'a'.repeat(32)}`],
  ['path traversal', 'sha256:../../etc'],
  ['path traversal of full length', `sha256:../../${'a'.repeat(58)}`],
  ['a slash inside the hex', `sha256:${'a'.repeat(32)}/${'a'.repeat(31)}`],
  ['no algorithm', `:${HEX}`],
  ['no colon', HEX],
  ['trailing newline', `sha256:${HEX}\n`],
  ['empty string', ''],
  ['not a string', 42],
];

describe('bad input', () => {
  let tmp: TempDir;
  let store: LocalStore;
  let blob: Buffer;
  let present: string;
  let before: TreeSnapshot;

  beforeEach(async () => {
    tmp = await makeTempDir('ck-bad-');
    store = openStore(tmp.dir);
    // A store with one blob and one resumable ingest, so "unchanged" means something.
    blob = randomBytes(4096);
    present = await putBlob(store, 'present', blob);
    const w = await store.writer({ ref: 'partial', total: 1000 });
    await w.write(randomBytes(300));
    await w.close();
    before = await snapshotTree(tmp.dir);
  });

  afterEach(async () => {
    await store.close();
    await tmp.cleanup();
  });

  async function expectUnchanged(): Promise<void> {
    expect(await snapshotTree(tmp.dir)).toEqual(before);
  }

  describe('malformed digests are InvalidArgument (ERR_INVALID_DIGEST) everywhere', () => {
    for (const [what, digest] of MALFORMED_DIGESTS) {
      it(`${what}: ${JSON.stringify(digest)}`, async () => {
        const d = digest as string;
        const calls: Array<[string, () => Promise<unknown>]> = [
          ['info', () => store.info(d)],
          ['readerAt', () => store.readerAt(d)],
          ['createReadStream', () => store.createReadStream(d)],
          ['path', () => store.path(d)],
          ['delete', () => store.delete(d)],
          ['writer expected', () => store.writer({ ref: 'new-ref', expected: d })],
        ];
        for (const [name, call] of calls) {
          const err = await expectError(call, 'InvalidArgument', 'ERR_INVALID_DIGEST').catch((e: Error) => {
            throw new Error(`${name}: ${e.message}`);
          });
          if (typeof digest === 'string' && digest.length > 0) expect(err.message, name).toContain(JSON.stringify(digest));
        }
        await expectError(store.status('new-ref'), 'NotFound');
        await expectUnchanged();
      });
    }
  });

  describe('refs', () => {
    it('an empty or non-string ref is InvalidArgument for writer, status and abort', async () => {
      for (const ref of ['', undefined, null, 7] as unknown as string[]) {
        await expectError(store.writer({ ref }), 'InvalidArgument', 'ERR_INVALID_REF');
        await expectError(store.status(ref), 'InvalidArgument', 'ERR_INVALID_REF');
        await expectError(store.abort(ref), 'InvalidArgument', 'ERR_INVALID_REF');
      }
      await expectUnchanged();
    });

    it('a ref too long for the status record is InvalidArgument', async () => {
      await expectError(store.writer({ ref: 'x'.repeat(100_000) }), 'InvalidArgument', 'ERR_INVALID_REF');
      await expectUnchanged();
    });

    it('status and abort of an unknown ref are NotFound naming the ref', async () => {
      const a = await expectError(store.status('no-such-ref'), 'NotFound');
      expect(a.message).toContain('no-such-ref');
      const b = await expectError(store.abort('no-such-ref'), 'NotFound');
      expect(b.message).toContain('no-such-ref');
      await expectUnchanged();
    });
  });

  describe('writer options', () => {
    it('a negative, fractional or non-numeric expected size is InvalidArgument', async () => {
      for (const total of [-1, 1.5, Number.NaN, Infinity, '10'] as unknown as number[]) {
        await expectError(store.writer({ ref: 'sized', total }), 'InvalidArgument');
        await expectError(store.writer({ ref: 'partial', total }), 'InvalidArgument');
      }
      await expectUnchanged();
    });

    it('an unknown algorithm is InvalidArgument', async () => {
      await expectError(store.writer({ ref: 'alg', algorithm: 'md5' as never }), 'InvalidArgument', 'ERR_INVALID_ALGORITHM');
      await expectUnchanged();
    });

    it('an expected digest already present is AlreadyExists at open and changes nothing', async () => {
      const err = await expectError(store.writer({ ref: 'dup', expected: present }), 'AlreadyExists');
      expect(err.message).toContain(present);
      await expectError(store.writer({ ref: 'partial', expected: present }), 'AlreadyExists');
      await expectUnchanged();
    });

    it('a second writer on a held ref is Unavailable and does not disturb the holder', async () => {
      const w = await store.writer({ ref: 'partial' });
      try {
        await expectError(store.writer({ ref: 'partial' }), 'Unavailable', 'ERR_REF_LOCKED');
        await expectError(store.abort('partial'), 'Unavailable', 'ERR_REF_LOCKED');
        expect((await w.status()).offset).toBe(300);
      } finally {
        await w.close();
      }
      expect((await store.status('partial')).offset).toBe(300);
    });
  });

  describe('writer misuse', () => {
    let w: Writer;
    beforeEach(async () => {
      w = await store.writer({ ref: 'misuse' });
      await w.write(Buffer.from('hello'));
    });
    afterEach(async () => {
      await w.close();
    });

    it('truncate to a non-zero size is InvalidArgument and keeps the data', async () => {
      for (const size of [1, 5, 3, -1]) await expectError(w.truncate(size), 'InvalidArgument', 'ERR_INVALID_TRUNCATE');
      expect((await w.status()).offset).toBe(5);
      expect(await w.digest()).toBe(digestOf('hello'));
      await w.write(Buffer.from(' world'));
      expect(await w.commit()).toBe(digestOf('hello world'));
    });

    it('write, truncate and commit after close are FailedPrecondition; the data stays resumable', async () => {
      await w.close();
      await expectError(w.write(Buffer.from('x')), 'FailedPrecondition', 'ERR_WRITER_CLOSED');
      await expectError(w.truncate(0), 'FailedPrecondition', 'ERR_WRITER_CLOSED');
      await expectError(w.commit(), 'FailedPrecondition', 'ERR_WRITER_CLOSED');
      expect((await store.status('misuse')).offset).toBe(5);
    });

    it('write and commit after commit are FailedPrecondition and change nothing', async () => {
      const d = await w.commit();
      const after = await snapshotTree(tmp.dir);
      await expectError(w.write(Buffer.from('x')), 'FailedPrecondition', 'ERR_WRITER_CLOSED');
      await expectError(w.commit(), 'FailedPrecondition', 'ERR_WRITER_CLOSED');
      await expectError(w.truncate(0), 'FailedPrecondition', 'ERR_WRITER_CLOSED');
      expect(await snapshotTree(tmp.dir)).toEqual(after);
      expect((await store.info(d)).size).toBe(5);
    });

    it('a malformed expected digest at commit is InvalidArgument, publishes nothing and keeps the ingest', async () => {
      await expectError(w.commit({ expected: 'sha256:../../etc' }), 'InvalidArgument', 'ERR_INVALID_DIGEST');
      await w.close();
      expect((await store.status('misuse')).offset).toBe(5);
      await expectError(store.info(digestOf('hello')), 'NotFound');
    });

    it('a wrong expected size at commit is FailedPrecondition naming both sizes', async () => {
      const err = await expectError(w.commit({ size: 4 }), 'FailedPrecondition', 'ERR_SIZE_MISMATCH');
      expect(err.message).toContain('4');
      expect(err.message).toContain('5');
      expect(err.details).toMatchObject({ expected: 4, actual: 5 });
      expect((await store.status('misuse')).offset).toBe(5);
    });
  });

  describe('missing blobs are NotFound naming the digest', () => {
    it('info, readerAt, createReadStream, path and delete', async () => {
      const missing = absentDigest();
      const calls: Array<[string, (s: Store) => Promise<unknown>]> = [
        ['info', (s) => s.info(missing)],
        ['readerAt', (s) => s.readerAt(missing)],
        ['createReadStream', (s) => s.createReadStream(missing)],
        ['path', (s) => s.path(missing)],
        ['delete', (s) => s.delete(missing)],
      ];
      for (const [name, call] of calls) {
        const err = await expectError(() => call(store), 'NotFound', 'ERR_BLOB_NOT_FOUND');
        expect(err.message, name).toContain(missing);
        expect(err.details.digest, name).toBe(missing);
      }
      // The same digest under sha512 is a different blob.
      await expectError(store.info(digestOf(blob, 'sha512')), 'NotFound', 'ERR_BLOB_NOT_FOUND');
      await expectUnchanged();
    });
  });

  describe('read ranges', () => {
    it('negative or fractional positions and lengths are InvalidArgument', async () => {
      const ra = await store.readerAt(present);
      try {
        await expectError(ra.read(-1, 10), 'InvalidArgument');
        await expectError(ra.read(0, -10), 'InvalidArgument');
        await expectError(ra.read(0.5, 10), 'InvalidArgument');
      } finally {
        await ra.close();
      }
      await expectError(store.createReadStream(present, { start: -1 }), 'InvalidArgument');
      await expectError(store.createReadStream(present, { end: 1.5 }), 'InvalidArgument');
      await expectUnchanged();
    });

    it('walk with an unknown algorithm is InvalidArgument', async () => {
      await expectError(async () => {
        for await (const _ of store.walk({ algorithm: 'md5' as never })) void _;
      }, 'InvalidArgument');
    });
  });
});
