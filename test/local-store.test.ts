/**
 * The local store: the conformance suite, plus what only a directory-backed store can
 * show — the on-disk layout, lock holder identity, two stores on one root, tolerance of
 * half-written ingests.
 */
import { chmod, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type LocalStore } from '../src/local/store.js';
import { openStore as openStoreFromIndex } from '../src/index.js';
import { contentStoreSuite } from './suite/index.js';
import { putBlob, writeAll } from './suite/fixture.js';
import { digestOf, EMPTY_SHA256, randomBytes } from './helpers/bytes.js';
import { expectError } from './helpers/errors.js';
import { cleanupAll, makeTempDir, type TempDir } from './helpers/tmp.js';
import { listFiles } from './helpers/tree.js';

afterAll(cleanupAll);

contentStoreSuite('local store', async () => {
  const tmp = await makeTempDir('ck-suite-');
  const store = openStore(tmp.dir);
  return {
    store,
    async cleanup() {
      await store.close();
      await tmp.cleanup();
    },
  };
});

const refKey = (ref: string) => createHash('sha256').update(ref).digest('hex');

describe('local store', () => {
  let tmp: TempDir;
  let store: LocalStore;
  beforeEach(async () => {
    tmp = await makeTempDir('ck-local-');
    store = openStore(tmp.dir);
  });
  afterEach(async () => {
    await store.close();
    await tmp.cleanup();
  });

  it('is exported from the package index', () => {
    expect(openStoreFromIndex).toBe(openStore);
  });

  it('stores a committed blob read-only at blobs/<alg>/<hex> and path() returns it', async () => {
    const data = randomBytes(1234);
    const d = await putBlob(store, 'layout', data);
    const hex = d.slice('sha256:'.length);
    const p = await store.path(d);
    expect(p).toBe(join(tmp.dir, 'blobs', 'sha256', hex));
    const st = await stat(p);
    expect(st.mode & 0o777).toBe(0o444);
    expect(st.size).toBe(1234);
    const d512 = digestOf(data, 'sha512');
    const w = await store.writer({ ref: 'layout512', expected: d512 });
    await w.write(data);
    await w.commit();
    expect(await store.path(d512)).toBe(join(tmp.dir, 'blobs', 'sha512', d512.slice('sha512:'.length)));
  });

  it('keeps an ingest under ingest/<sha256(ref)>/ and its lock beside it only while a writer holds the ref', async () => {
    const ref = 'docker.io/library/redis@sha256:abc/../../x';
    const key = refKey(ref);
    const w = await store.writer({ ref });
    await w.write(randomBytes(10));
    const held = await readdir(join(tmp.dir, 'ingest'));
    expect(held).toContain(key);
    expect(held).toContain(`${key}.lock`);
    expect((await stat(join(tmp.dir, 'ingest', key, 'data'))).size).toBe(10);
    await w.close();
    const idle = await readdir(join(tmp.dir, 'ingest'));
    expect(idle).toContain(key);
    expect(idle).not.toContain(`${key}.lock`);
    // Nothing outside ingest/ and blobs/ is named after the ref.
    expect((await listFiles(tmp.dir)).every((f) => f.startsWith('ingest/') || f.startsWith('blobs/'))).toBe(true);
    const w2 = await store.writer({ ref });
    await w2.commit();
    expect(await listFiles(tmp.dir, 'ingest')).toEqual([]);
  });

  it('a commit leaves nothing under ingest/', async () => {
    await putBlob(store, 'a', randomBytes(100));
    await putBlob(store, 'b', randomBytes(200_000));
    expect(await listFiles(tmp.dir, 'ingest')).toEqual([]);
  });

  it('a second writer on a held ref fails with Unavailable naming the holder pid, host and lock age', async () => {
    const w = await store.writer({ ref: 'busy' });
    try {
      await new Promise((r) => setTimeout(r, 50));
      const err = await expectError(store.writer({ ref: 'busy' }), 'Unavailable');
      expect(err.code).toBe('ERR_REF_LOCKED');
      expect(err.message).toContain('busy');
      expect(err.message).toContain(String(process.pid));
      expect(err.message).toContain(hostname());
      expect(err.message).toMatch(/\d+(\.\d+)?\s?(ms|s|m|h)\b/);
      expect(err.details.holder?.pid).toBe(process.pid);
      expect(err.details.holder?.host).toBe(hostname());
      expect(err.details.holder?.ageMs).toBeGreaterThanOrEqual(40);
    } finally {
      await w.close();
    }
  });

  it('two stores opened on one root share the ref locks', async () => {
    const other = openStore(tmp.dir);
    try {
      const w = await store.writer({ ref: 'shared' });
      await w.write(randomBytes(77));
      await expectError(other.writer({ ref: 'shared' }), 'Unavailable');
      const seen = await other.status('shared');
      expect(seen.offset).toBe(77);
      expect(seen.state).toBe('active');
      expect(seen.owner?.pid).toBe(process.pid);
      await w.close();
      const w2 = await other.writer({ ref: 'shared' });
      expect((await w2.status()).offset).toBe(77);
      await w2.close();
    } finally {
      await other.close();
    }
  });

  describe('tolerates half-written ingests', () => {
    async function partial(ref: string, data: Buffer): Promise<string> {
      const w = await store.writer({ ref });
      await writeAll(w, data);
      await w.close();
      return join(tmp.dir, 'ingest', refKey(ref));
    }

    it('a torn status record: the writer re-hashes the data and commits the right digest', async () => {
      const data = randomBytes(50_000);
      const dir = await partial('torn', data.subarray(0, 20_000));
      await writeFile(join(dir, 'status'), Buffer.from('CKS1 this is not a status record'));
      const w = await store.writer({ ref: 'torn' });
      try {
        expect((await w.status()).offset).toBe(20_000);
        expect(await w.digest()).toBe(digestOf(data.subarray(0, 20_000)));
        await w.write(data.subarray(20_000));
        expect(await w.commit()).toBe(digestOf(data));
      } finally {
        await w.close();
      }
    });

    it('a missing status file or an empty ingest directory does not break the next writer', async () => {
      const data = randomBytes(3000);
      const dir = await partial('nostatus', data.subarray(0, 1000));
      await rm(join(dir, 'status'));
      const w = await store.writer({ ref: 'nostatus' });
      expect((await w.status()).offset).toBe(1000);
      await w.write(data.subarray(1000));
      expect(await w.commit()).toBe(digestOf(data));

      await mkdir(join(tmp.dir, 'ingest', refKey('emptydir')), { recursive: true });
      const w2 = await store.writer({ ref: 'emptydir' });
      expect((await w2.status()).offset).toBe(0);
      expect(await w2.digest()).toBe(EMPTY_SHA256);
      await w2.close();
    });

    it('debris under ingest/ is skipped by listStatuses', async () => {
      await partial('real', randomBytes(10));
      await mkdir(join(tmp.dir, 'ingest'), { recursive: true });
      await writeFile(join(tmp.dir, 'ingest', 'junk'), 'x');
      await mkdir(join(tmp.dir, 'ingest', 'f'.repeat(64)));
      await writeFile(join(tmp.dir, 'ingest', 'e'.repeat(64) + '.lock'), '');
      const all = await store.listStatuses();
      expect(all.map((s) => s.ref)).toEqual(['real']);
    });

    it('data replaced under a checkpoint is detected: the digest covers the bytes actually on disk', async () => {
      const data = randomBytes(8192);
      const dir = await partial('swapped', data);
      const other = randomBytes(8192);
      await chmod(join(dir, 'data'), 0o644);
      await writeFile(join(dir, 'data'), other);
      const w = await store.writer({ ref: 'swapped' });
      try {
        expect(await w.digest()).toBe(digestOf(other));
        expect(await w.commit()).toBe(digestOf(other));
      } finally {
        await w.close();
      }
    });
  });
});
