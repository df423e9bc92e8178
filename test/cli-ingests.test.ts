/**
 * `dist active` and `dist prune` as a user meets them (issue 9): one meaning of RATE,
 * --watch that neither busy-loops nor hides Ctrl-C, refs with control characters that
 * cannot reach the terminal raw, and a prune that keeps young resumable ingests.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type LocalStore, type Writer } from '../src/index.js';
import { randomBytes } from './helpers/bytes.js';
import { runCli, spawnCli } from './helpers/cli.js';
import { cleanupAll, makeTempDir } from './helpers/tmp.js';

afterAll(cleanupAll);

const EVIL = '\x1b[31mRED\x1b[0m\x1b[2J\nsecond line';

let root: string;
let store: LocalStore;
let held: Writer;

beforeEach(async () => {
  const tmp = await makeTempDir('ck-ingests-');
  root = join(tmp.dir, 'store');
  store = openStore(root);
  // One ingest held by this (live) process and stalled, one idle (resumable).
  held = await store.writer({ ref: 'stalled', total: 1_000_000 });
  await held.write(randomBytes(100_000));
  const idle = await store.writer({ ref: EVIL });
  await idle.write(randomBytes(10));
  await idle.close();
});

afterEach(async () => {
  await held.close();
  await store.close();
});

type Row = { ref: string; state: string; rate: number | null; offset: number; startedAt: string };

describe('dist active', () => {
  it('RATE is the average since start, the same one-shot and in --watch; idle ingests show none', async () => {
    const one = await runCli(['active', '--json'], { root });
    const rows = JSON.parse(one.stdout) as Row[];
    const stalled = rows.find((r) => r.ref === 'stalled')!;
    expect(stalled.state).toBe('active');
    expect(stalled.rate).toBeGreaterThan(0);
    expect(rows.find((r) => r.ref === EVIL)!.rate).toBeNull();

    const table = await runCli(['active'], { root });
    const line = table.stdout.split('\n').find((l) => l.startsWith('stalled'))!;
    expect(line.split(/\s+/)[4]).toMatch(/^[\d.]+(B|KiB|MiB)\/s$/);

    // In --watch a stalled writer keeps its average (it used to drop to 0 B/s).
    const spawnedAt = Date.now();
    const child = spawnCli(['active', '--watch', '--json', '--interval', '200ms'], { root });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    while (out.split('\n').length < 4) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    for (const frame of out.trim().split('\n').map((l) => JSON.parse(l) as Row[])) {
      const s = frame.find((r) => r.ref === 'stalled')!;
      expect(s.rate).toBeGreaterThan(0);
      // offset / (time since start), taken at some moment between the spawn and now.
      const started = Date.parse(s.startedAt);
      expect(s.rate!).toBeGreaterThanOrEqual((s.offset * 1000) / (Date.now() - started) - 1);
      expect(s.rate!).toBeLessThanOrEqual((s.offset * 1000) / (spawnedAt - started) + 1);
      expect(frame.find((r) => r.ref === EVIL)!.rate).toBeNull();
    }
  });

  it('--watch redraws at --interval (not in a busy loop) and Ctrl-C exits 130, as the README says', async () => {
    const child = spawnCli(['active', '--watch', '--interval', '100ms'], { root });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const frames = out.split('\n').filter((l) => l.startsWith('REF')).length;
    expect(frames).toBeGreaterThanOrEqual(3);
    expect(frames).toBeLessThanOrEqual(16);
  });

  it('a ref with control characters is printed escaped and quoted, one row per ingest; --json keeps it exact', async () => {
    const r = await runCli(['active'], { root });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.some((l) => l.startsWith('"\\x1b[31mRED\\x1b[0m\\x1b[2J\\nsecond line"  10 '))).toBe(true);
    const j = JSON.parse((await runCli(['active', '--json'], { root })).stdout) as Row[];
    expect(j.map((s) => s.ref).sort()).toEqual([EVIL, 'stalled'].sort());
  });
});

describe('dist prune', () => {
  it('keeps ingests younger than 24h by default; --older-than 0 removes every idle one; refs are escaped', async () => {
    const keep = await runCli(['prune'], { root });
    expect(keep.code, keep.stderr).toBe(0);
    expect(keep.stdout).toBe('');
    expect(keep.stderr).toBe('removed 0 item(s), 0B; kept 2 ingest(s) (held by a live process, or updated in the last 24h0m)\n');
    expect((await store.listStatuses()).map((s) => s.ref).sort()).toEqual([EVIL, 'stalled'].sort());

    const dry = await runCli(['prune', '--older-than', '0', '--dry-run'], { root });
    expect(dry.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
    expect(dry.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(dry.stdout).toContain('"\\x1b[31mRED\\x1b[0m\\x1b[2J\\nsecond line"  10');

    const all = await runCli(['prune', '--older-than', '0'], { root });
    expect(all.code, all.stderr).toBe(0);
    expect((await store.listStatuses()).map((s) => s.ref)).toEqual(['stalled']);
  });

  it('--help says the default age', async () => {
    expect((await runCli(['prune', '--help'])).stdout).toMatch(/--older-than <duration>.*\(default: 24h\)/s);
  });
});
