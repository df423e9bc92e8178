/** Names are unique; only committed snapshots are parents; remove refuses snapshots with children. */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { expectError } from '../../helpers/errors.js';
import { makeFixture, type Fixture } from '../helpers/fixture.js';

export function rulesTests(driver: string): void {
  describe(`${driver}: names, parents, remove`, () => {
    let f: Fixture;
    beforeEach(async () => {
      f = await makeFixture(driver);
      await f.sn.prepare('a');
      await f.at('a', (dir) => writeFile(join(dir, 'x'), 'x'));
      await f.sn.commit('base', 'a');
    });
    afterEach(() => f.cleanup());

    test('keys and names share one namespace and are unique', async () => {
      await f.sn.prepare('k', 'base');
      await expectError(f.sn.prepare('k'), 'AlreadyExists', 'ERR_SNAPSHOT_EXISTS');
      await expectError(f.sn.view('k', 'base'), 'AlreadyExists', 'ERR_SNAPSHOT_EXISTS');
      await expectError(f.sn.prepare('base'), 'AlreadyExists', 'ERR_SNAPSHOT_EXISTS');
      // Committing onto a taken name fails and leaves the active snapshot as it was.
      await expectError(f.sn.commit('base', 'k'), 'AlreadyExists', 'ERR_SNAPSHOT_EXISTS');
      expect(await f.sn.stat('k')).toMatchObject({ kind: 'active', parent: 'base' });
      await expectError(f.sn.prepare(''), 'InvalidArgument', 'ERR_INVALID_SNAPSHOT_NAME');
      await expectError(f.sn.prepare('a\0b'), 'InvalidArgument', 'ERR_INVALID_SNAPSHOT_NAME');
    });

    test('only committed snapshots can be parents', async () => {
      await f.sn.prepare('active', 'base');
      await f.sn.view('view', 'base');
      await expectError(f.sn.prepare('p1', 'active'), 'FailedPrecondition', 'ERR_SNAPSHOT_PARENT_NOT_COMMITTED');
      await expectError(f.sn.prepare('p2', 'view'), 'FailedPrecondition', 'ERR_SNAPSHOT_PARENT_NOT_COMMITTED');
      await expectError(f.sn.view('p3', 'active'), 'FailedPrecondition', 'ERR_SNAPSHOT_PARENT_NOT_COMMITTED');
      await expectError(f.sn.prepare('p4', 'missing'), 'NotFound', 'ERR_SNAPSHOT_NOT_FOUND');
      for (const k of ['p1', 'p2', 'p3', 'p4']) await expectError(f.sn.stat(k), 'NotFound');
    });

    test('remove: refused while children exist (active, view or committed), allowed bottom-up; the name is free again', async () => {
      await f.sn.prepare('c-active', 'base');
      await f.sn.commit('child', 'c-active');
      await f.sn.view('v', 'child');
      await f.sn.prepare('a2', 'child');
      const e = await expectError(f.sn.remove('base'), 'FailedPrecondition', 'ERR_SNAPSHOT_HAS_CHILDREN');
      expect(e.message).toContain('"child"');
      await expectError(f.sn.remove('child'), 'FailedPrecondition', 'ERR_SNAPSHOT_HAS_CHILDREN');
      await f.sn.remove('v');
      await expectError(f.sn.remove('child'), 'FailedPrecondition', 'ERR_SNAPSHOT_HAS_CHILDREN');
      await f.sn.remove('a2');
      await f.sn.remove('child');
      await f.sn.remove('base');
      await expectError(f.sn.remove('base'), 'NotFound', 'ERR_SNAPSHOT_NOT_FOUND');
      const names: string[] = [];
      await f.sn.walk((i) => void names.push(i.name));
      expect(names).toEqual([]);
      // Nothing left on disk either: every snapshot directory and scratch entry is gone.
      expect(await readdir(join(f.sn.dir, 'snapshots'))).toEqual([]);
      expect(await readdir(join(f.sn.dir, 'tmp'))).toEqual([]);
      await f.sn.prepare('base');
      await f.at('base', async (dir) => expect(await readdir(dir)).toEqual([]));
    });
  });
}
