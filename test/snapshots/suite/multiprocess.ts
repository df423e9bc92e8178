/**
 * Several processes on one root at once (real child processes): independent prepare/commit
 * chains all land; contended keys and names have exactly one winner; a parent removed while
 * children are being prepared on it never leaves a child without its parent.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Child } from '../../helpers/child.js';
import { runSnapshotChild } from '../helpers/child.js';
import { makeFixture, type Fixture } from '../helpers/fixture.js';

const PROCS = 4;

async function results(children: Child[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const c of children) {
    const line = await c.waitFor('', 120_000);
    await c.exited;
    if (!line.startsWith('result ')) throw new Error(`child failed: ${line}\n${c.stderr}`);
    out.push(JSON.parse(line.slice(7)));
  }
  return out;
}

export function multiProcessTests(driver: string): void {
  describe(`${driver}: several processes`, () => {
    let f: Fixture;
    beforeEach(async () => {
      f = await makeFixture(driver);
      await f.sn.prepare('a');
      await f.at('a', (dir) => writeFile(join(dir, 'base'), 'base'));
      await f.sn.commit('base', 'a');
    });
    afterEach(() => f.cleanup());

    test(`${PROCS} processes each commit a 10-snapshot chain on one parent, all at once`, async () => {
      const body = `
        let parent = 'base';
        for (let i = 0; i < 10; i++) {
          const key = 'p' + args.p + '-active-' + i;
          await sn.prepare(key, parent);
          await at(key, (dir) => fs.writeFile(dir + '/p' + args.p + '-' + i, String(i)));
          await sn.commit('p' + args.p + '-' + i, key);
          parent = 'p' + args.p + '-' + i;
        }
        return parent;`;
      const tops = await results(Array.from({ length: PROCS }, (_, p) => runSnapshotChild(f.root, driver, body, { p })));
      expect(tops).toEqual(Array.from({ length: PROCS }, (_, p) => `p${p}-9`));
      const committed: string[] = [];
      await f.sn.walk((i) => void committed.push(i.name), 'kind==committed');
      expect(committed).toHaveLength(1 + PROCS * 10);
      for (let p = 0; p < PROCS; p++) {
        await f.sn.view(`v${p}`, `p${p}-9`);
        await f.at(`v${p}`, async (dir) => {
          const names = (await readdir(dir)).sort();
          expect(names).toEqual(['base', ...Array.from({ length: 10 }, (_, i) => `p${p}-${i}`)].sort());
          expect(await readFile(join(dir, `p${p}-9`), 'utf8')).toBe('9');
        });
      }
      expect(await readdir(join(f.sn.dir, 'tmp'))).toEqual([]);
    });

    test('contended keys and names: exactly one process wins each', async () => {
      const body = `
        const won = { prepared: [], committed: [], lost: [] };
        for (let i = 0; i < 8; i++) {
          try { await sn.prepare('shared-' + i, 'base'); won.prepared.push(i); }
          catch (err) { if (err.kind !== 'AlreadyExists') throw err; won.lost.push('prepare-' + i); }
          const mine = 'own-' + args.p + '-' + i;
          await sn.prepare(mine, 'base');
          try { await sn.commit('name-' + i, mine); won.committed.push(i); }
          catch (err) { if (err.kind !== 'AlreadyExists') throw err; await sn.remove(mine); }
        }
        return won;`;
      const r = (await results(Array.from({ length: PROCS }, (_, p) => runSnapshotChild(f.root, driver, body, { p })))) as Array<{ prepared: number[]; committed: number[] }>;
      for (let i = 0; i < 8; i++) {
        expect(r.filter((x) => x.prepared.includes(i))).toHaveLength(1);
        expect(r.filter((x) => x.committed.includes(i))).toHaveLength(1);
        expect(await f.sn.stat(`shared-${i}`)).toMatchObject({ kind: 'active', parent: 'base' });
        expect(await f.sn.stat(`name-${i}`)).toMatchObject({ kind: 'committed', parent: 'base' });
      }
      const all: string[] = [];
      await f.sn.walk((i) => void all.push(i.name));
      expect(all).toHaveLength(1 + 8 + 8);
    });

    test('removing a parent while others prepare on it: never a child without its parent', async () => {
      const preparer = `
        const out = { ok: 0, refused: 0 };
        for (let i = 0; i < 10; i++) {
          try { await sn.prepare('c-' + args.p + '-' + i, 'base'); out.ok++; }
          catch (err) { if (err.kind !== 'NotFound' && err.kind !== 'FailedPrecondition') throw err; out.refused++; }
        }
        return out;`;
      const remover = `
        // Start once the preparers have made a child, so the race is real.
        for (let seen = 0, t = Date.now(); seen === 0 && Date.now() - t < 20000; ) {
          await sn.walk(() => { seen++; }, 'parent==base');
          if (!seen) await new Promise((r) => setTimeout(r, 5));
        }
        let removed = false, refusals = 0;
        for (let i = 0; i < 40 && !removed; i++) {
          try { await sn.remove('base'); removed = true; }
          catch (err) { if (err.code !== 'ERR_SNAPSHOT_HAS_CHILDREN') throw err; refusals++;
            // Clear the way: remove the children seen so far.
            const kids = []; await sn.walk((i) => { kids.push(i.name); }, 'parent==base');
            for (const k of kids) await sn.remove(k).catch((e) => { if (e.kind !== 'NotFound') throw e; });
          }
        }
        return { removed, refusals };`;
      const kids = [0, 1].map((p) => runSnapshotChild(f.root, driver, preparer, { p }));
      const rem = runSnapshotChild(f.root, driver, remover);
      const [, , r] = (await results([...kids, rem])) as Array<{ refusals?: number }>;
      expect(r!.refusals).toBeGreaterThan(0);
      const infos: Array<{ name: string; parent?: string }> = [];
      await f.sn.walk((i) => void infos.push(i));
      const names = new Set(infos.map((i) => i.name));
      for (const i of infos) if (i.parent !== undefined) expect(names.has(i.parent), `${i.name} lost its parent ${i.parent}`).toBe(true);
    });
  });
}
