/**
 * Transitivity through a 128-deep chain: each snapshot adds a file, rewrites a shared one and
 * deletes its predecessor's marker. The top sees every file, the last value and no deleted
 * marker; a snapshot in the middle sees exactly its prefix.
 */
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeFixture, type Fixture } from '../helpers/fixture.js';

const DEPTH = 128;

export function chainTests(driver: string): void {
  describe(`${driver}: a ${DEPTH}-deep chain`, () => {
    let f: Fixture;
    beforeAll(async () => {
      f = await makeFixture(driver);
      let parent: string | undefined;
      for (let i = 0; i < DEPTH; i++) {
        await f.sn.prepare(`active-${i}`, parent);
        await f.at(`active-${i}`, async (dir) => {
          await writeFile(join(dir, `layer-${String(i).padStart(3, '0')}`), String(i));
          await writeFile(join(dir, 'shared'), `written by ${i}`);
          if (i > 0) await rm(join(dir, `marker-${i - 1}`));
          await writeFile(join(dir, `marker-${i}`), '');
        });
        await f.sn.commit(`layer-${i}`, `active-${i}`);
        parent = `layer-${i}`;
      }
    }, 180_000);
    afterAll(() => f?.cleanup());

    test('the top sees every layer\'s file, the last write and only the last marker', async () => {
      await f.sn.view('top', `layer-${DEPTH - 1}`);
      await f.at('top', async (dir) => {
        const names = (await readdir(dir)).sort();
        expect(names.filter((n) => n.startsWith('layer-'))).toHaveLength(DEPTH);
        expect(names.filter((n) => n.startsWith('marker-'))).toEqual([`marker-${DEPTH - 1}`]);
        expect(await readFile(join(dir, 'shared'), 'utf8')).toBe(`written by ${DEPTH - 1}`);
        expect(await readFile(join(dir, 'layer-077'), 'utf8')).toBe('77');
      });
    });

    test('a snapshot in the middle sees exactly its prefix; an active child on top can still write', async () => {
      await f.sn.view('mid', 'layer-63');
      await f.at('mid', async (dir) => {
        const names = (await readdir(dir)).sort();
        expect(names.filter((n) => n.startsWith('layer-'))).toHaveLength(64);
        expect(names).toContain('marker-63');
        expect(names).not.toContain('layer-064');
        expect(await readFile(join(dir, 'shared'), 'utf8')).toBe('written by 63');
      });
      await f.sn.prepare('on-top', `layer-${DEPTH - 1}`);
      await f.at('on-top', async (dir) => {
        await writeFile(join(dir, 'shared'), 'top');
        expect((await readdir(dir)).filter((n) => n.startsWith('layer-'))).toHaveLength(DEPTH);
      });
      await f.sn.commit(`layer-${DEPTH}`, 'on-top');
      expect((await f.sn.stat(`layer-${DEPTH}`)).parent).toBe(`layer-${DEPTH - 1}`);
    });
  });
}
