/**
 * Ingests shared between real processes: a child (running the compiled library) holds a
 * ref; this process and the compiled CLI see it, are refused it, and get it back when the
 * child closes or dies.
 */
import { hostname } from 'node:os';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type LocalStore } from '../src/index.js';
import { digestOf } from './helpers/bytes.js';
import { Child, runInChild, startWriterChild } from './helpers/child.js';
import { runCli } from './helpers/cli.js';
import { expectError } from './helpers/errors.js';
import { cleanupAll, makeTempDir, type TempDir } from './helpers/tmp.js';

afterAll(cleanupAll);

describe('cross-process ingests', () => {
  let tmp: TempDir;
  let store: LocalStore;
  const children: Child[] = [];

  function track(c: Child): Child {
    children.push(c);
    return c;
  }

  beforeEach(async () => {
    tmp = await makeTempDir('ck-xproc-');
    store = openStore(tmp.dir);
  });

  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill()));
    await store.close();
    await tmp.cleanup();
  });

  it('a writer on a ref held by another process fails with Unavailable naming that process’s pid, host and lock age', async () => {
    const child = track(startWriterChild({ root: tmp.dir, ref: 'layer', bytes: 1000 }));
    await child.waitFor('ready');
    await new Promise((r) => setTimeout(r, 100));
    const err = await expectError(store.writer({ ref: 'layer' }), 'Unavailable', 'ERR_REF_LOCKED');
    expect(err.message).toContain('layer');
    expect(err.message).toContain(String(child.pid));
    expect(err.message).toContain(hostname());
    expect(err.message).toMatch(/\d+(\.\d+)?\s?(ms|s|m|h)\b/);
    expect(err.details.holder).toMatchObject({ pid: child.pid, host: hostname() });
    expect(err.details.holder?.ageMs).toBeGreaterThanOrEqual(50);
    // abort is refused too: the holder's data is safe.
    await expectError(store.abort('layer'), 'Unavailable');
  });

  it('a second process is refused the ref (Unavailable), and so is the CLI with --no-wait (exit 5)', async () => {
    const holder = track(startWriterChild({ root: tmp.dir, ref: 'shared-ref', bytes: 10 }));
    await holder.waitFor('ready');
    const second = track(startWriterChild({ root: tmp.dir, ref: 'shared-ref', bytes: 10 }));
    const line = await second.waitFor('error');
    const e = JSON.parse(line.slice('error '.length)) as { kind: string; code: string; message: string; details: { holder?: { pid: number } } };
    expect(e.kind).toBe('Unavailable');
    expect(e.code).toBe('ERR_REF_LOCKED');
    expect(e.details.holder?.pid).toBe(holder.pid);
    expect(e.message).toContain(String(holder.pid));

    const cli = await runCli(['ingest', '--no-wait', 'shared-ref'], { root: tmp.dir, input: 'data' });
    expect(cli.code).toBe(5);
    expect(cli.stderr).toMatch(/^dist: .*\n$/);
    expect(cli.stderr).toContain(String(holder.pid));
  });

  it('the running ingest’s offset and total are visible from other processes: listStatuses and `dist active --json`', async () => {
    const child = track(startWriterChild({ root: tmp.dir, ref: 'progress', bytes: 300_000, total: 1_000_000 }));
    const ready = JSON.parse((await child.waitFor('ready')).slice('ready '.length)) as { offset: number };
    expect(ready.offset).toBe(300_000);

    // This process.
    const [st] = await store.listStatuses();
    expect(st).toMatchObject({ ref: 'progress', offset: 300_000, total: 1_000_000, state: 'active' });
    expect(st!.owner).toMatchObject({ pid: child.pid, host: hostname() });
    expect(st!.lockAgeMs).toBeGreaterThanOrEqual(0);

    // A third process using the library.
    const probe = track(runInChild(tmp.dir, 'return (await store.listStatuses()).map((s) => ({ ref: s.ref, offset: s.offset, total: s.total, state: s.state, pid: s.owner?.pid }));'));
    const seen = JSON.parse((await probe.waitFor('result')).slice('result '.length));
    expect(seen).toEqual([{ ref: 'progress', offset: 300_000, total: 1_000_000, state: 'active', pid: child.pid }]);

    // The CLI.
    const cli = await runCli(['active', '--json'], { root: tmp.dir });
    expect(cli.code).toBe(0);
    const list = JSON.parse(cli.stdout) as Array<Record<string, unknown>>;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ ref: 'progress', offset: 300_000, total: 1_000_000, state: 'active' });
    expect(list[0]!.owner).toMatchObject({ pid: child.pid, host: hostname() });

    const table = await runCli(['active'], { root: tmp.dir });
    expect(table.code).toBe(0);
    const [header, row] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^REF\s+OFFSET\s+TOTAL\s+/);
    expect(row).toContain('progress');
    expect(row).toContain('300000');
    expect(row).toContain(`${child.pid}@${hostname()}`);
    expect(row).toMatch(/\bactive$/);
  });

  it('when the holder closes, another process resumes at its offset and commits the right digest', async () => {
    const child = track(startWriterChild({ root: tmp.dir, ref: 'resume-me', bytes: 70_000 }));
    await child.waitFor('ready');
    child.send('close');
    await child.waitFor('closed');
    await child.exited;
    const st = await store.status('resume-me');
    expect(st).toMatchObject({ offset: 70_000, state: 'idle' });

    const w = await store.writer({ ref: 'resume-me' });
    try {
      expect((await w.status()).offset).toBe(70_000);
      await w.write(Buffer.alloc(30_000, 0x61));
      expect(await w.commit({ size: 100_000 })).toBe(digestOf(Buffer.alloc(100_000, 0x61)));
    } finally {
      await w.close();
    }
  });

  it('a ref held by a killed process is taken over at once and its data resumed', async () => {
    const child = track(startWriterChild({ root: tmp.dir, ref: 'orphan', bytes: 50_000 }));
    await child.waitFor('ready');
    await child.kill();
    const st = await store.status('orphan');
    expect(st.state).toBe('stale');
    expect(st.offset).toBe(50_000);

    const t0 = Date.now();
    const w = await store.writer({ ref: 'orphan' });
    try {
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect((await w.status()).offset).toBe(50_000);
      expect(await w.digest()).toBe(digestOf(Buffer.alloc(50_000, 0x61)));
    } finally {
      await w.close();
    }
  });

  it('with several processes contending for a dead holder’s ref, exactly one wins', async () => {
    const dead = track(startWriterChild({ root: tmp.dir, ref: 'contended', bytes: 1000 }));
    await dead.waitFor('ready');
    await dead.kill();
    const contenders = Array.from({ length: 4 }, () => track(startWriterChild({ root: tmp.dir, ref: 'contended', bytes: 0 })));
    const outcomes = await Promise.all(
      contenders.map((c) =>
        Promise.race([c.waitFor('ready').then(() => 'won'), c.waitFor('error').then((l) => JSON.parse(l.slice('error '.length)).kind as string)]),
      ),
    );
    expect(outcomes.filter((o) => o === 'won')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'Unavailable')).toHaveLength(3);
  });
});
