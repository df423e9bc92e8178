/**
 * `dist --address ADDR COMMAND` (and DIST_ADDRESS): ingest, list, info, cat, delete, active,
 * abort, label and images work through a server exactly as they do on the root — same
 * output, same exit codes — because they go through the remote store (same Store contract).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRemoteStore } from '../../src/remote-store/store.js';
import { digestOf, randomBytes } from '../helpers/bytes.js';
import { runCli, type RunOptions } from '../helpers/cli.js';
import { cleanupAll, makeTempDir } from '../helpers/tmp.js';
import { startServe, type Served } from './helpers/serve.js';

let served: Served;
let root: string;

beforeAll(async () => {
  const tmp = await makeTempDir('ck-cli-remote-');
  root = join(tmp.dir, 'root');
  served = await startServe(root, `unix://${join(tmp.dir, 'dist.sock')}`);
});

afterAll(async () => {
  expect((await served?.stop())?.code).toBe(0);
  await cleanupAll();
});

/** `dist --address SERVER …` (no --root: the server's root is the store). */
const remote = (args: string[], opts: RunOptions = {}) => runCli(['--address', served.address, ...args], opts);
const local = (args: string[], opts: RunOptions = {}) => runCli(args, { ...opts, root });

describe('dist --address', () => {
  it('ingest, list, info, cat and label through the server match the same commands on the root', async () => {
    const data = randomBytes(2_000_000);
    const d = digestOf(data);
    const ing = await remote(['ingest', '--expected-digest', d, '--expected-size', String(data.length)], { input: data });
    expect(ing.code, ing.stderr).toBe(0);
    expect(ing.stdout.trim()).toBe(d);
    // Already there: success, said on stderr (as locally).
    const again = await remote(['ingest', '--expected-digest', d], { input: data });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('already exists');

    for (const args of [['list', '-q'], ['list', '--json', '--prefix', d.slice(0, 12)], ['info', '--json', d]]) {
      const r = await remote(args);
      const l = await local(args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout, args.join(' ')).toBe(l.stdout);
    }
    const cat = await remote(['cat', d]);
    expect(cat.stdoutBytes.equals(data)).toBe(true);
    const range = await remote(['cat', '--offset', '1000', '--length', '70000', d]);
    expect(range.stdoutBytes.equals(data.subarray(1000, 71_000))).toBe(true);

    expect((await remote(['label', d, 'team=storage', 'tier=hot'])).stdout).toBe('team=storage\ntier=hot\n');
    expect((await remote(['label', d, 'tier='])).stdout).toBe('team=storage\n');
    expect(JSON.parse((await local(['label', '--json', d])).stdout)).toEqual({ team: 'storage' });

    const missing = digestOf(randomBytes(5));
    const nf = await remote(['info', missing]);
    expect(nf.code).toBe(3);
    expect(nf.stderr).toBe(`dist: content ${missing} not found\n`);
    const badDigest = await remote(['info', 'sha256:xyz']);
    expect(badDigest.code).toBe(7);
  });

  it('delete refuses a referenced blob (exit 6) unless --force; ctr-style unconditional delete stays the API default', async () => {
    const data = randomBytes(1000);
    const d = (await remote(['ingest', 'rooted'], { input: data })).stdout.trim();
    await remote(['label', d, 'containerd.io/gc.root=yes']);
    const refused = await remote(['delete', d]);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toContain('is referenced by');
    expect((await local(['info', d])).code).toBe(0);
    const forced = await remote(['delete', '--force', d]);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await local(['info', d])).code).toBe(3);
    const gone = await remote(['delete', d]);
    expect(gone.code).toBe(3);
  });

  it('active shows states and holders; abort refuses a held ref (exit 5) unless --force; a lease given to ingest holds the blob', async () => {
    const store = await openRemoteStore(served.address);
    try {
      const w = await store.writer({ ref: 'held-remotely', total: 100 });
      await w.write(randomBytes(40));
      const idle = await store.writer({ ref: 'idle-remotely' });
      await idle.write(randomBytes(7));
      await idle.close();
      const rows = JSON.parse((await remote(['active', '--json'])).stdout) as Array<{ ref: string; state: string; offset: number; owner: { pid: number } | null }>;
      expect(rows.find((r) => r.ref === 'held-remotely')).toMatchObject({ state: 'active', offset: 40, owner: { pid: served.proc.pid } });
      expect(rows.find((r) => r.ref === 'idle-remotely')).toMatchObject({ state: 'idle', offset: 7 });
      expect((await remote(['active', '--prefix', 'idle-'])).stdout).toMatch(/^REF .*\nidle-remotely\s+7\s+-/);

      const held = await remote(['abort', 'held-remotely']);
      expect(held.code).toBe(5);
      expect((await remote(['abort', 'idle-remotely'])).code).toBe(0);
      const forced = await remote(['abort', '--force', 'held-remotely']);
      expect(forced.code, forced.stderr).toBe(0);
      await w.close().catch(() => {});
      expect(JSON.parse((await local(['active', '--json'])).stdout)).toEqual([]);
      expect((await remote(['abort', 'never-was'])).code).toBe(3);
    } finally {
      await store.close();
    }

    expect((await local(['lease', 'create', '--id', 'remote-lease'])).code).toBe(0);
    const leased = await remote(['ingest', '--lease', 'remote-lease', 'leased-ref'], { input: 'protected bytes' });
    expect(leased.code, leased.stderr).toBe(0);
    const res = JSON.parse((await local(['lease', 'resources', '--json', 'remote-lease'])).stdout) as Array<{ type: string; id: string }>;
    expect(res).toContainEqual({ type: 'content', id: digestOf('protected bytes') });
    const noLease = await remote(['ingest', '--lease', 'no-such-lease', 'x'], { input: 'x' });
    expect(noLease.code).toBe(3);
  });

  it('images lists and removes names through the images service; DIST_ADDRESS works like --address', async () => {
    const env = { DIST_ADDRESS: served.address };
    expect(JSON.parse((await runCli(['images', '--json'], { env })).stdout)).toEqual([]);
    const rm = await runCli(['images', 'rm', 'nope:1'], { env });
    expect(rm.code).toBe(3);
    expect(rm.stderr).toContain('"nope:1"');
    const l = await runCli(['list', '-q'], { env });
    expect(l.code).toBe(0);
    expect(l.stdout).toBe((await local(['list', '-q'])).stdout);
  });
});
