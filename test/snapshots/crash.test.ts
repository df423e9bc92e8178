/**
 * A process killed (SIGKILL) in the middle of a snapshot operation leaves nothing that makes
 * the next operation fail: crash points stop a real child at the worst moments, the test
 * kills it there, and the same operation is then retried from this process.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { probeOverlay } from '../../src/snapshots/mount.js';
import { runSnapshotChild } from './helpers/child.js';
import { makeFixture, type Fixture } from './helpers/fixture.js';

const drivers = (await probeOverlay()) === undefined ? ['naive', 'overlay'] : ['naive'];
if (!drivers.includes('overlay')) process.stderr.write(`crash tests: overlay NOT exercised: ${await probeOverlay()}\n`);

async function killAt(f: Fixture, point: string, body: string): Promise<void> {
  const c = runSnapshotChild(f.root, f.driver, body, null, { CONTAINERKIT_CRASHPOINT: point });
  await waitStderr(c, `CRASHPOINT ${point}`);
  await c.kill();
}

async function waitStderr(c: { stderr: string; exited: Promise<unknown> }, text: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!c.stderr.includes(text)) {
    if (Date.now() > deadline) throw new Error(`child never reached ${text}: ${c.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(drivers)('%s: killed mid-operation', (driver) => {
  let f: Fixture;
  beforeEach(async () => {
    f = await makeFixture(driver);
    await f.sn.prepare('a');
    await f.at('a', (dir) => writeFile(join(dir, 'base'), 'base'));
    await f.sn.commit('base', 'a');
  });
  afterEach(() => f.cleanup());

  test('after building the snapshot, before publishing it: the key is free, the scratch is swept', async () => {
    await killAt(f, 'snapshot-create-staged', `await sn.prepare('k', 'base');`);
    expect((await readdir(join(f.sn.dir, 'tmp'))).length).toBeGreaterThan(0); // the dead process's staging
    await f.sn.prepare('k', 'base');
    expect(await f.sn.stat('k')).toMatchObject({ kind: 'active', parent: 'base' });
    await f.at('k', async (dir) => expect(await readdir(dir)).toEqual(['base']));
    expect(await readdir(join(f.sn.dir, 'tmp'))).toEqual([]);
  });

  test('holding the metadata lock, with the new database written but not renamed: the next prepare proceeds', async () => {
    await killAt(f, 'snapshot-metadata-before-rename', `await sn.prepare('k', 'base');`);
    const t = Date.now();
    await f.sn.prepare('k', 'base');
    // The dead holder's lock goes stale after 5 s (proper-lockfile mtime staleness).
    expect(Date.now() - t).toBeLessThan(15_000);
    expect(await f.sn.stat('k')).toMatchObject({ kind: 'active', parent: 'base' });
    const ids = await readdir(join(f.sn.dir, 'snapshots'));
    // The killed prepare's directory was renamed into place but never published: it is
    // moved away by the next create that needed its id.
    const names: string[] = [];
    await f.sn.walk((i) => void names.push(i.name));
    expect(names.sort()).toEqual(['base', 'k']);
    expect(ids.length).toBe(2);
    expect(await readdir(join(f.sn.dir, 'tmp'))).toEqual([]);
  }, 30_000);

  test('between measuring and committing: the key is still active and commits', async () => {
    await f.sn.prepare('k', 'base');
    await killAt(f, 'snapshot-commit-measured', `await sn.commit('done', 'k');`);
    expect(await f.sn.stat('k')).toMatchObject({ kind: 'active' });
    await f.sn.commit('done', 'k');
    expect(await f.sn.stat('done')).toMatchObject({ kind: 'committed', parent: 'base' });
  });
});
