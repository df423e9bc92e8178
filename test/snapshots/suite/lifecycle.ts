/** Prepare → write → commit → prepare on top → view: content, stat, usage and mounts. */
import { mkdir, readFile, readdir, rm, symlink, link, writeFile, lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { mountAll, unmount } from '../../../src/snapshots/mount.js';
import { expectError } from '../../helpers/errors.js';
import { makeFixture, type Fixture } from '../helpers/fixture.js';

export function lifecycleTests(driver: string): void {
  describe(`${driver}: lifecycle`, () => {
    let f: Fixture;
    beforeEach(async () => {
      f = await makeFixture(driver);
    });
    afterEach(() => f.cleanup());

    test('prepare, write, commit; a child sees the parent and its own changes; the parent does not change', async () => {
      const { sn } = f;
      await sn.prepare('base-active', undefined, { labels: { stage: 'base' } });
      const a = await sn.stat('base-active');
      expect(a).toMatchObject({ name: 'base-active', kind: 'active', labels: { stage: 'base' } });
      expect(a.parent).toBeUndefined();
      expect(a.createdAt).toBeInstanceOf(Date);
      await f.at('base-active', async (dir) => {
        await mkdir(join(dir, 'etc'));
        await writeFile(join(dir, 'etc', 'keep'), 'keep');
        await writeFile(join(dir, 'etc', 'gone'), 'gone');
        await writeFile(join(dir, 'etc', 'changed'), 'v1');
        await symlink('keep', join(dir, 'etc', 'link'));
        await link(join(dir, 'etc', 'keep'), join(dir, 'etc', 'hard'));
      });
      await sn.commit('base', 'base-active');
      await expectError(sn.stat('base-active'), 'NotFound', 'ERR_SNAPSHOT_NOT_FOUND');
      const c = await sn.stat('base');
      expect(c).toMatchObject({ name: 'base', kind: 'committed', labels: { stage: 'base' } });
      expect(c.parent).toBeUndefined();

      await sn.prepare('child-active', 'base');
      expect(await sn.stat('child-active')).toMatchObject({ kind: 'active', parent: 'base', labels: {} });
      await f.at('child-active', async (dir) => {
        expect((await readdir(join(dir, 'etc'))).sort()).toEqual(['changed', 'gone', 'hard', 'keep', 'link']);
        await rm(join(dir, 'etc', 'gone'));
        await writeFile(join(dir, 'etc', 'changed'), 'v2');
        await writeFile(join(dir, 'new'), 'new');
      });
      await sn.commit('child', 'child-active', { labels: { stage: 'child' } });
      expect(await sn.stat('child')).toMatchObject({ kind: 'committed', parent: 'base', labels: { stage: 'child' } });

      await sn.view('child-view', 'child');
      await f.at('child-view', async (dir) => {
        expect((await readdir(join(dir, 'etc'))).sort()).toEqual(['changed', 'hard', 'keep', 'link']);
        expect(await readFile(join(dir, 'etc', 'changed'), 'utf8')).toBe('v2');
        expect(await readFile(join(dir, 'new'), 'utf8')).toBe('new');
        expect(await readlink(join(dir, 'etc', 'link'))).toBe('keep');
        const [k, h] = await Promise.all([lstat(join(dir, 'etc', 'keep')), lstat(join(dir, 'etc', 'hard'))]);
        expect(h.ino).toBe(k.ino);
      });
      await sn.view('base-view', 'base');
      await f.at('base-view', async (dir) => {
        expect((await readdir(join(dir, 'etc'))).sort()).toEqual(['changed', 'gone', 'hard', 'keep', 'link']);
        expect(await readFile(join(dir, 'etc', 'changed'), 'utf8')).toBe('v1');
      });
    });

    test('an empty prepare commits an empty snapshot; views of nothing are empty', async () => {
      await f.sn.prepare('a');
      await f.sn.commit('empty', 'a');
      await f.sn.view('v', 'empty');
      await f.at('v', async (dir) => expect(await readdir(dir)).toEqual([]));
      await f.sn.view('v0');
      expect(await f.sn.stat('v0')).toMatchObject({ kind: 'view' });
      await f.at('v0', async (dir) => expect(await readdir(dir)).toEqual([]));
    });

    test('views are read-only when mounted and cannot be committed', async () => {
      await f.sn.prepare('a');
      await f.at('a', (dir) => writeFile(join(dir, 'x'), 'x'));
      await f.sn.commit('c', 'a');
      const mounts = await f.sn.view('v', 'c');
      expect(mounts.every((m) => m.options.includes('ro') || !m.options.some((o) => o.startsWith('upperdir=')))).toBe(true);
      await expectError(f.sn.commit('v-committed', 'v'), 'FailedPrecondition', 'ERR_SNAPSHOT_NOT_ACTIVE');
      expect(await f.sn.stat('v')).toMatchObject({ kind: 'view' });
      await expectError(f.sn.stat('v-committed'), 'NotFound');
      // Mounted for real (root), a write through the view fails with EROFS.
      const target = await f.sn.mountTarget();
      await mountAll(mounts, target);
      try {
        expect(await readFile(join(target, 'x'), 'utf8')).toBe('x');
        await expect(writeFile(join(target, 'y'), 'y')).rejects.toMatchObject({ code: 'EROFS' });
      } finally {
        await unmount(target);
      }
    });

    test('committed snapshots have no mounts; a committed snapshot cannot be committed again', async () => {
      await f.sn.prepare('a');
      await f.sn.commit('c', 'a');
      await expectError(f.sn.mounts('c'), 'FailedPrecondition', 'ERR_SNAPSHOT_COMMITTED');
      await expectError(f.sn.commit('c2', 'c'), 'FailedPrecondition', 'ERR_SNAPSHOT_NOT_ACTIVE');
    });

    test('usage: measured live for an active snapshot, kept from commit time for a committed one; hard links count once', async () => {
      await f.sn.prepare('a');
      const before = await f.sn.usage('a');
      await f.at('a', async (dir) => {
        await writeFile(join(dir, 'big'), Buffer.alloc(1 << 20, 7));
        await link(join(dir, 'big'), join(dir, 'big-again'));
      });
      const after = await f.sn.usage('a');
      expect(after.size - before.size).toBeGreaterThanOrEqual(1 << 20);
      expect(after.size - before.size).toBeLessThan(2 << 20);
      expect(after.inodes).toBe(before.inodes + 1);
      await f.sn.commit('c', 'a');
      expect(await f.sn.usage('c')).toEqual(after);
      // The child's own usage does not include the parent's megabyte.
      await f.sn.prepare('b', 'c');
      if (driver === 'overlay') expect((await f.sn.usage('b')).size).toBeLessThan(1 << 20);
      else expect((await f.sn.usage('b')).size).toBeGreaterThanOrEqual(1 << 20); // naive: a full copy
    });

    test('update: labels replaced whole or per key; other fields are immutable', async () => {
      await f.sn.prepare('a', undefined, { labels: { one: '1', two: '2' } });
      const t0 = (await f.sn.stat('a')).updatedAt.getTime();
      await new Promise((r) => setTimeout(r, 5));
      expect((await f.sn.update({ name: 'a', labels: { three: '3' } })).labels).toEqual({ three: '3' });
      expect((await f.sn.update({ name: 'a', labels: { four: '4', three: 'x' } }, 'labels.four')).labels).toEqual({ three: '3', four: '4' });
      expect((await f.sn.update({ name: 'a', labels: {} }, 'labels.three')).labels).toEqual({ four: '4' });
      const s = await f.sn.stat('a');
      expect(s.labels).toEqual({ four: '4' });
      expect(s.updatedAt.getTime()).toBeGreaterThan(t0);
      await expectError(f.sn.update({ name: 'a', labels: {} }, 'parent'), 'InvalidArgument', 'ERR_SNAPSHOT_IMMUTABLE_FIELD');
      await expectError(f.sn.update({ name: 'nope', labels: {} }), 'NotFound');
      await expectError(f.sn.update({ name: 'a', labels: { k: 'x'.repeat(5000) } }), 'InvalidArgument', 'ERR_INVALID_LABELS');
    });
  });
}
