/**
 * Issue 3 — observability and crash debris: `dist active` shows REF, OFFSET/TOTAL, RATE,
 * OWNER (pid@host) and STATE active/idle/stale across processes; `dist prune` removes idle
 * and stale ingests and orphaned locks, honours --older-than/--dry-run/--json, and never
 * touches an ingest held by a live owner. Half-created dirs, empty/torn status files and
 * leftover temp files never block the next writer, active, or prune.
 */
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  badBlobs,
  child,
  cli,
  deadPid,
  exists,
  ingest,
  ingestEntries,
  ingestPaths,
  layoutIngest,
  mapLimit,
  parseTable,
  refKey,
  seededBytes,
  sha256,
  useScratch,
} from './helpers.js';

const HOST = hostname();
const scratch = useScratch('observe');
const { track } = scratch;

describe('active and prune across processes', () => {
  it('lists active/idle/stale with offsets, totals, rate and owner; prune removes idle+stale only', async () => {
    const root = join(scratch.base, 'listing');
    await mkdir(root, { recursive: true });
    const MiB = 1 << 20;
    // active: a live holder, 1 MiB of 10 written
    const a = track(child('holder', { root, ref: 'layer-active', bytes: MiB, total: 10 * MiB, seed: 1 }));
    // idle: written and closed
    const b = track(child('holder', { root, ref: 'layer-idle', bytes: 300_000, seed: 2 }));
    // stale: SIGKILLed mid-ingest
    const c = track(child('holder', { root, ref: 'layer-stale', bytes: 200_000, total: MiB, seed: 3 }));
    const [, ra] = await a.next(['ready']);
    await b.next(['ready']);
    b.send('close');
    await b.next(['closed']);
    b.send('exit');
    const [, rc] = await c.next(['ready']);
    await c.kill();
    await b.exited;

    const act = await cli(root, ['active']);
    expect(act.code, act.stderr).toBe(0);
    const header = act.stdout.split('\n')[0]!.split(/\s{2,}/);
    expect(header).toEqual(['REF', 'OFFSET', 'TOTAL', 'PCT', 'RATE', 'STARTED', 'UPDATED', 'OWNER', 'STATE']);
    const rows = Object.fromEntries(parseTable(act.stdout).map((r) => [r.REF, r]));
    expect(rows['layer-active']).toMatchObject({ OFFSET: String(MiB), TOTAL: String(10 * MiB), PCT: '10%', OWNER: `${ra.pid}@${HOST}`, STATE: 'active' });
    expect(rows['layer-active']!.RATE).toMatch(/\/s$/);
    expect(rows['layer-idle']).toMatchObject({ OFFSET: '300000', TOTAL: '-', OWNER: '-', STATE: 'idle' });
    expect(rows['layer-stale']).toMatchObject({ OFFSET: '200000', TOTAL: String(MiB), OWNER: `${rc.pid}@${HOST}`, STATE: 'stale' });

    const json = await cli(root, ['active', '--json']);
    const list = JSON.parse(json.stdout) as any[];
    expect(Object.fromEntries(list.map((s) => [s.ref, s.state]))).toEqual({ 'layer-active': 'active', 'layer-idle': 'idle', 'layer-stale': 'stale' });
    expect(list.find((s) => s.ref === 'layer-active').owner).toMatchObject({ pid: ra.pid, host: HOST });

    // --older-than: everything is younger than an hour → nothing removed.
    const young = await cli(root, ['prune', '--older-than', '1h', '--json']);
    expect(young.code, young.stderr).toBe(0);
    expect(JSON.parse(young.stdout).removed).toEqual([]);

    // --dry-run lists idle + stale, removes nothing.
    const dry = await cli(root, ['prune', '--older-than', '0', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const dr = JSON.parse(dry.stdout);
    expect(dr.dryRun).toBe(true);
    expect(dr.removed.map((x: any) => `${x.ref}:${x.state}`).sort()).toEqual(['layer-idle:idle', 'layer-stale:stale']);
    for (const ref of ['layer-idle', 'layer-stale']) expect(await exists(ingestPaths(root, ref).dir)).toBe(true);

    const real = await cli(root, ['prune', '--older-than', '0', '--json']);
    expect(real.code, real.stderr).toBe(0);
    const rr = JSON.parse(real.stdout);
    expect(rr.removed.map((x: any) => x.ref).sort()).toEqual(['layer-idle', 'layer-stale']);
    expect(rr.kept).toBe(1);
    for (const ref of ['layer-idle', 'layer-stale']) {
      const p = ingestPaths(root, ref);
      for (const q of [p.dir, p.lock, p.owner]) expect(await exists(q)).toBe(false);
    }
    // The live ingest was not touched: its writer carries on and commits.
    const p = ingestPaths(root, 'layer-active');
    expect(await exists(p.data)).toBe(true);
    a.send(`write ${9 * MiB}`);
    await a.next(['wrote']);
    a.send('commit');
    const [tag, done] = await a.next(['committed', 'error']);
    expect(tag, JSON.stringify(done)).toBe('committed');
    expect(done.digest).toBe(sha256(seededBytes(1, 10 * MiB)));
    expect(await badBlobs(root)).toEqual([]);
    expect(await ingestEntries(root)).toEqual([]);
  });

  it('prune removes orphaned lock and owner files, and old debris, but not a fresh lock', async () => {
    const root = join(scratch.base, 'orphans');
    await mkdir(root, { recursive: true });
    const dead = await deadPid();
    await layoutIngest(root, { ref: 'orphan-dead', lock: { owner: { pid: dead } } });
    await layoutIngest(root, { ref: 'orphan-old', lock: { owner: 'none', heartbeatAgeMs: 600_000 } });
    await layoutIngest(root, { ref: 'orphan-owner-only', orphanOwner: { pid: dead } });
    await layoutIngest(root, { ref: 'guard-old', guardAgeMs: 600_000 });
    // A fresh lock with no dir: maybe a writer between lock and mkdir — must stay.
    const fresh = await layoutIngest(root, { ref: 'fresh-lock', lock: { owner: 'none' } });
    const tmp = join(root, 'ingest', '.add-123-0-abcdef');
    await writeFile(tmp, 'partial temp of a crashed bulk add');
    const old = (Date.now() - 600_000) / 1000;
    await utimes(tmp, old, old);

    const r = await cli(root, ['prune', '--older-than', '0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout);
    const removed = res.removed.map((x: any) => `${x.key}:${x.state}`).sort();
    expect(removed).toEqual(
      [
        `${refKey('orphan-dead')}:orphan`,
        `${refKey('orphan-old')}:orphan`,
        `${refKey('orphan-owner-only')}:orphan`,
        `${refKey('guard-old')}.takeover:debris`,
        '.add-123-0-abcdef:debris',
      ].sort(),
    );
    expect((await ingestEntries(root)).sort()).toEqual([`${refKey('fresh-lock')}.lock`]);
    expect(await exists(fresh.lock)).toBe(true);
  });
});

describe('crash debris never blocks the next writer, active, or prune', () => {
  const content = (i: number) => seededBytes(100 + i, 70_000 + i * 1000);
  const dead = () => deadPid();
  /** This group's store (set by its test). */
  let root: string;
  const fixtures: Array<{ name: string; make: (ref: string, i: number) => Promise<unknown> }> = [
    { name: 'empty ingest dir', make: (ref) => layoutIngest(root, { ref, dir: 'empty' }) },
    { name: 'data, no status', make: (ref, i) => layoutIngest(root, { ref, data: content(i).subarray(0, 5000) }) },
    { name: 'empty status file', make: (ref, i) => layoutIngest(root, { ref, data: content(i).subarray(0, 6000), status: 'empty' }) },
    { name: 'torn status record', make: (ref, i) => layoutIngest(root, { ref, data: content(i).subarray(0, 7000), status: 'torn' }) },
    { name: 'garbage status', make: (ref, i) => layoutIngest(root, { ref, data: content(i).subarray(0, 8000), status: 'garbage' }) },
    { name: 'status, no data', make: (ref) => layoutIngest(root, { ref, status: { total: 123 } }) },
    { name: 'status of another ref (same key)', make: (ref, i) => layoutIngest(root, { ref, data: content(i).subarray(0, 100), status: { ref: 'someone-else', total: 5 } }) },
    { name: 'status claiming a bigger total', make: (ref, i) => layoutIngest(root, { ref, data: content(i).subarray(0, 100), status: { total: 10 ** 9 } }) },
    { name: 'data longer than the content', make: (ref, i) => layoutIngest(root, { ref, data: Buffer.concat([content(i), Buffer.alloc(999)]), status: {} }) },
    { name: 'dead owner lock + torn status', make: async (ref, i) => layoutIngest(root, { ref, data: content(i).subarray(0, 3000), status: 'torn', lock: { owner: { pid: await dead() } } }) },
    { name: 'dead owner lock, no dir', make: async (ref) => layoutIngest(root, { ref, lock: { owner: { pid: await dead() } } }) },
    { name: 'stale unknown-owner lock', make: (ref, i) => layoutIngest(root, { ref, data: content(i).subarray(0, 10), status: {}, lock: { owner: 'none', heartbeatAgeMs: 600_000 } }) },
    { name: 'orphan owner file', make: async (ref, i) => layoutIngest(root, { ref, data: content(i).subarray(0, 10), orphanOwner: { pid: await dead() } }) },
    { name: 'data file left 0444 (crash between chmod and link)', make: (ref, i) => layoutIngest(root, { ref, data: content(i).subarray(0, 50_000), dataMode: 0o444, status: {} }) },
  ];

  it('each layout: active and prune --dry-run work, then the next writer commits the right digest; prune leaves nothing', async () => {
    root = join(scratch.base, 'debris');
    await mkdir(root, { recursive: true });
    const refs = fixtures.map((f, i) => `debris-${i}`);
    for (let i = 0; i < fixtures.length; i++) await fixtures[i]!.make(refs[i]!, i);
    // Stray files of other kinds.
    await writeFile(join(root, 'ingest', 'README'), 'not an ingest');
    await mkdir(join(root, 'ingest', 'not-a-key'));

    const act = await cli(root, ['active', '--json']);
    expect(act.code, act.stderr).toBe(0);
    const listed = JSON.parse(act.stdout) as any[];
    for (const s of listed) expect(['idle', 'stale']).toContain(s.state);
    const dry = await cli(root, ['prune', '--older-than', '0', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);

    const results = await mapLimit(refs, 4, (ref, i) =>
      ingest({ root: root, ref, content: { seed: 100 + i, size: 70_000 + i * 1000 }, expected: sha256(content(i)), source: 'ranged' }),
    );
    results.forEach((r, i) => {
      expect(r.tag, `${fixtures[i]!.name}: ${JSON.stringify(r)}`).toBe('result');
      expect(r.digest, fixtures[i]!.name).toBe(sha256(content(i)));
    });
    expect(await badBlobs(root)).toEqual([]);
    const after = await cli(root, ['active']);
    expect(after.code).toBe(0);
    const pr = await cli(root, ['prune', '--older-than', '0']);
    expect(pr.code, pr.stderr).toBe(0);
    const left = (await readdir(join(root, 'ingest'))).filter((n) => /^[0-9a-f]{64}/.test(n) || n.startsWith('.'));
    expect(left).toEqual([]);
  });
});

describe('a takeover guard left by a crashed taker', () => {
  it('an old guard does not fail the next (non-waiting) writer of a dead lock', async () => {
    const root = join(scratch.base, 'old-guard');
    await mkdir(root, { recursive: true });
    const content = seededBytes(300, 10_000);
    await layoutIngest(root, { ref: 'guarded', data: content.subarray(0, 100), status: {}, lock: { owner: { pid: await deadPid() } }, guardAgeMs: 600_000 });
    const r = await ingest({ root, ref: 'guarded', content: { seed: 300, size: 10_000 }, expected: sha256(content) });
    expect(r.tag, JSON.stringify(r)).toBe('result');
    expect(r.digest).toBe(sha256(content));
    expect(await ingestEntries(root)).toEqual([]);
  });

  it('a fresh guard (a taker at work) makes a non-waiting writer fail with Unavailable, a waiting one succeed', async () => {
    const root = join(scratch.base, 'fresh-guard');
    await mkdir(root, { recursive: true });
    const content = seededBytes(301, 10_000);
    await layoutIngest(root, { ref: 'guarded', data: content.subarray(0, 100), status: {}, lock: { owner: { pid: await deadPid() } }, guardAgeMs: 0 });
    const r1 = await ingest({ root, ref: 'guarded', content: { seed: 301, size: 10_000 }, expected: sha256(content) });
    expect(r1).toMatchObject({ tag: 'error', kind: 'Unavailable' });
    // The guard ages out (5 s) and the waiting writer takes the dead lock over.
    const r2 = await ingest({ root, ref: 'guarded', content: { seed: 301, size: 10_000 }, expected: sha256(content), wait: 20_000 });
    expect(r2.tag, JSON.stringify(r2)).toBe('result');
    expect(r2.digest).toBe(sha256(content));
    expect(await ingestEntries(root)).toEqual([]);
  }, 30_000);
});
