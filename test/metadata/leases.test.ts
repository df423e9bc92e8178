/**
 * Issue 10 — leases: created, listed and removed from the CLI; a lease protects what it
 * lists from `dist gc` while it lives, and nothing once removed, expired, or once the process
 * it is bound to is dead; `ingest --lease` and `add --lease`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blobNames, child, cli, sha256, sleep, useScratch } from '../multiprocess/helpers.js';

const { newRoot, track } = useScratch('leases');
const gc = (root: string) => cli(root, ['gc', '--grace', '0s', '--json']).then((r) => {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { removed: { digests: string[] }; leases: { live: number; removed: string[] } };
});

describe('dist lease', () => {
  it('create, ls, resources, rm; a duplicate id is AlreadyExists (exit 4), an unknown one NotFound (exit 3)', async () => {
    const root = await newRoot();
    const c = await cli(root, ['lease', 'create', '--id', 'build-42', '--label', 'ci=yes', '--expire', '1h']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toBe('build-42\n');
    expect((await cli(root, ['lease', 'create', '--id', 'build-42'])).code).toBe(4);
    const gen = (await cli(root, ['lease', 'create'])).stdout.trim();
    expect(gen).toMatch(/^lease-/);
    const ing = await cli(root, ['ingest', '--lease', 'build-42', 'r'], { input: 'leased content' });
    expect(ing.code, ing.stderr).toBe(0);
    const ls = JSON.parse((await cli(root, ['lease', 'ls', '--json'])).stdout) as Array<{ id: string; labels: object; resources: number; state: string }>;
    expect(ls.map((l) => [l.id, l.resources, l.state])).toEqual([
      ['build-42', 1, 'live'],
      [gen, 0, 'live'],
    ]);
    expect(ls[0]!.labels).toEqual({ ci: 'yes' });
    expect((await cli(root, ['lease', 'resources', 'build-42'])).stdout).toBe(`TYPE     ID\ncontent  ${sha256('leased content')}\n`);
    expect((await cli(root, ['lease', 'rm', 'build-42', gen])).code).toBe(0);
    expect((await cli(root, ['lease', 'rm', 'build-42'])).code).toBe(3);
    expect((await cli(root, ['ingest', '--lease', 'nope', 'r2'], { input: 'x' })).code).toBe(3);
  });
});

describe('what a lease protects', () => {
  it('ingest --lease: kept by gc while the lease lives, removed once it is gone', async () => {
    const root = await newRoot();
    await cli(root, ['lease', 'create', '--id', 'keep']);
    const kept = sha256('kept');
    expect((await cli(root, ['ingest', '--lease', 'keep', '--expected-digest', kept], { input: 'kept' })).code).toBe(0);
    expect((await cli(root, ['ingest', 'loose'], { input: 'loose' })).code).toBe(0);
    const first = await gc(root);
    expect(first.removed.digests).toEqual([sha256('loose')]);
    expect(await blobNames(root)).toEqual([kept]);
    await cli(root, ['lease', 'rm', 'keep']);
    expect((await gc(root)).removed.digests).toEqual([kept]);
    expect(await blobNames(root)).toEqual([]);
  });

  it('an expired lease protects nothing (and gc removes it)', async () => {
    const root = await newRoot();
    await cli(root, ['lease', 'create', '--id', 'short', '--expire', '4s']);
    expect((await cli(root, ['ingest', '--lease', 'short', 'r'], { input: 'short-lived' })).code).toBe(0);
    expect((await gc(root)).removed.digests).toEqual([]);
    await sleep(4200);
    const ls = JSON.parse((await cli(root, ['lease', 'ls', '--json'])).stdout) as Array<{ state: string }>;
    expect(ls.map((l) => l.state)).toEqual(['expired']);
    const r = await gc(root);
    expect(r.leases.removed).toEqual(['short']);
    expect(r.removed.digests).toEqual([sha256('short-lived')]);
  });

  it('a lease bound to a process protects nothing once the process is killed', async () => {
    const root = await newRoot();
    const c = track(child('lease-holder', { root, content: 'held by a process' }));
    const [, ready] = await c.next(['ready']);
    expect(ready.lease).toMatch(/^lease-/);
    expect((await gc(root)).removed.digests).toEqual([]); // alive: protected
    await c.kill();
    const r = await gc(root);
    expect(r.leases.removed).toEqual([ready.lease]);
    expect(r.removed.digests).toEqual([sha256('held by a process')]);
  });

  it('add --lease keeps every added file’s blob', async () => {
    const root = await newRoot();
    const dir = join(root, '..', `files-${Date.now()}`);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir);
    for (let i = 0; i < 300; i++) await writeFile(join(dir, `f${i}`), `file ${i}`);
    await cli(root, ['lease', 'create', '--id', 'adds']);
    const a = await cli(root, ['add', '-r', '--lease', 'adds', dir]);
    expect(a.code, a.stderr).toBe(0);
    expect((await gc(root)).removed.digests).toEqual([]);
    expect((await blobNames(root)).length).toBe(300);
    expect(JSON.parse((await cli(root, ['lease', 'ls', '--json'])).stdout)[0].resources).toBe(300);
    expect((await cli(root, ['add', '--lease', 'absent', join(dir, 'f1')])).code).toBe(3);
  });
});
