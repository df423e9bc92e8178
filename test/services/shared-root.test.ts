/**
 * A server is one more process on the root: two `dist serve` processes and plain CLIs share
 * one root at once, kept correct by the on-disk locks alone. Contended refs go to one writer
 * at a time, whichever process or server it came through; `active` through any of them
 * shows every ingest on the root.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRemoteStore } from '../../src/remote-store/store.js';
import { randomBytes } from '../helpers/bytes.js';
import { runCli } from '../helpers/cli.js';
import { CLI_MAIN } from '../helpers/paths.js';
import { cleanupAll, makeTempDir, type TempDir } from '../helpers/tmp.js';
import { collect, ctr, ok, type CtrResult } from './helpers/ctr.js';
import { requireCtr, startServe, type Served } from './helpers/serve.js';

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let tmp: TempDir;
let root: string;
let a: Served;
let b: Served;

beforeAll(async () => {
  requireCtr();
  tmp = await makeTempDir('ck-shared-');
  root = join(tmp.dir, 'root');
  [a, b] = await Promise.all([startServe(root, `unix://${join(tmp.dir, 'a.sock')}`), startServe(root, `unix://${join(tmp.dir, 'b.sock')}`)]);
});

afterAll(async () => {
  const codes = await Promise.all([a?.stop(), b?.stop()]);
  await cleanupAll();
  for (const c of codes) expect(c?.code).toBe(0);
});

/** A `ctr content ingest` fed through a pipe the test controls. */
function ctrIngest(sock: string, ref: string, extra: string[] = []): { child: ChildProcess; done: Promise<CtrResult> } {
  const child = spawn('ctr', ['-a', sock, 'content', 'ingest', ...extra, ref], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.on('error', () => {});
  return { child, done: collect(child, { keepStdin: true, timeoutMs: 90_000 }) };
}

/** A local `dist ingest` fed through a pipe. */
function distIngest(ref: string, extra: string[] = [], address?: string): { child: ChildProcess; done: Promise<CtrResult> } {
  const args = [CLI_MAIN, '--root', root, ...(address ? ['--address', address] : []), 'ingest', ...extra, ref];
  const env = { ...process.env, DIST_JOBS: '1' };
  delete env.DIST_ADDRESS;
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  child.stdin!.on('error', () => {});
  return { child, done: collect(child, { keepStdin: true, timeoutMs: 90_000 }) };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(40);
  }
}

interface ActiveJson {
  ref: string;
  offset: number;
  state: string;
  owner: { pid: number } | null;
}

describe('two servers and CLIs on one root', () => {
  it('a ref held through server A is refused through server B and by a local CLI, naming A as its holder; once released, a waiting ctr on B finishes', async () => {
    const data = randomBytes(6 << 20);
    const d = sha(data);
    const ref = 'contended-ref';
    const first = ctrIngest(a.socket!, ref, ['--expected-size', String(data.length), '--expected-digest', d]);
    first.child.stdin!.write(data.subarray(0, 1 << 20));
    const storeA = await openRemoteStore(a.address);
    try {
      await waitFor('the first MiB through A', async () => ((await storeA.status(ref).catch(() => undefined))?.offset === 1 << 20 ? true : undefined));
    } finally {
      await storeA.close();
    }

    // The lock is A's (the server process holds it for its Write session).
    const local = await runCli(['ingest', '--no-wait', ref], { root, input: 'other' });
    expect(local.code, local.stderr).toBe(5);
    expect(local.stderr).toContain(`held by pid ${a.proc.pid} on`);
    const viaB = await runCli(['--address', b.address, 'ingest', '--no-wait', ref], { input: 'other' });
    expect(viaB.code, viaB.stderr).toBe(5);
    expect(viaB.stderr).toContain(`held by pid ${a.proc.pid} on`);

    // Every view of the root sees it, held by A.
    for (const args of [['active', '--json'], ['--address', a.address, 'active', '--json'], ['--address', b.address, 'active', '--json']]) {
      const list = JSON.parse((await runCli(args, args[0] === 'active' ? { root } : {})).stdout) as ActiveJson[];
      expect(list.find((s) => s.ref === ref), args.join(' ')).toMatchObject({ offset: 1 << 20, state: 'active', owner: { pid: a.proc.pid } });
    }

    // ctr through B waits (containerd's client retries while the ref is Unavailable)…
    const file = join(tmp.dir, 'contended-source');
    await writeFile(file, data);
    const second = ctr(b.socket!, ['content', 'ingest', '--expected-size', String(data.length), '--expected-digest', d, ref], { stdinFile: file, timeoutMs: 90_000 });
    await sleep(500);
    // …until A's client finishes; then B finds the content present: success.
    first.child.stdin!.end(data.subarray(1 << 20));
    ok(await first.done, 'first ctr ingest');
    ok(await second, 'second ctr ingest');
    const info = JSON.parse((await runCli(['info', '--json', d], { root })).stdout) as Array<{ size: number }>;
    expect(info[0]!.size).toBe(data.length);
    expect(JSON.parse((await runCli(['active', '--json'], { root })).stdout)).toEqual([]);
  });

  it('active through A, through B, by ctr and by the local CLI lists the same ingests, whoever writes them', async () => {
    const writers = [
      { ref: 'held-by-ctr-on-a', w: ctrIngest(a.socket!, 'held-by-ctr-on-a') },
      { ref: 'held-by-ctr-on-b', w: ctrIngest(b.socket!, 'held-by-ctr-on-b') },
      { ref: 'held-by-local-cli', w: distIngest('held-by-local-cli') },
      { ref: 'held-by-cli-via-b', w: distIngest('held-by-cli-via-b', [], b.address) },
    ];
    for (const { w } of writers) w.child.stdin!.write(randomBytes(300_000));
    const refs = writers.map((x) => x.ref).sort();
    const views: Array<() => Promise<string[]>> = [
      async () => (JSON.parse((await runCli(['active', '--json'], { root })).stdout) as ActiveJson[]).filter((s) => s.state === 'active').map((s) => s.ref),
      async () => (JSON.parse((await runCli(['--address', a.address, 'active', '--json'])).stdout) as ActiveJson[]).filter((s) => s.state === 'active').map((s) => s.ref),
      async () => (JSON.parse((await runCli(['--address', b.address, 'active', '--json'])).stdout) as ActiveJson[]).filter((s) => s.state === 'active').map((s) => s.ref),
      async () => ok(await ctr(a.socket!, ['content', 'active']), 'ctr active A').stdout.split('\n').slice(1).map((l) => l.split(/\s+/)[0]!).filter(Boolean),
      async () => ok(await ctr(b.socket!, ['content', 'active']), 'ctr active B').stdout.split('\n').slice(1).map((l) => l.split(/\s+/)[0]!).filter(Boolean),
    ];
    for (const [i, view] of views.entries()) {
      await waitFor(`view ${i} to list ${refs.join(', ')}`, async () => {
        const seen = (await view()).sort();
        return refs.every((r) => seen.includes(r)) ? seen : undefined;
      });
    }
    for (const { w } of writers) w.child.stdin!.end(randomBytes(1000));
    for (const { ref, w } of writers) ok(await w.done, ref);
    expect(JSON.parse((await runCli(['active', '--json'], { root })).stdout)).toEqual([]);
  });

  it('six clients — ctr and dist, through A, through B and local — ingest one ref at once: all succeed, one blob, nothing left behind', async () => {
    const data = randomBytes(5 << 20);
    const d = sha(data);
    const file = join(tmp.dir, 'race-source');
    await writeFile(file, data);
    const ref = `race-${Date.now()}`;
    const args = ['--expected-size', String(data.length), '--expected-digest', d];
    const runs: Array<Promise<CtrResult>> = [
      ctr(a.socket!, ['content', 'ingest', ...args, ref], { stdinFile: file, timeoutMs: 90_000 }),
      ctr(b.socket!, ['content', 'ingest', ...args, ref], { stdinFile: file, timeoutMs: 90_000 }),
      ctr(a.socket!, ['content', 'ingest', ...args, ref], { stdinFile: file, timeoutMs: 90_000 }),
    ];
    for (const address of [undefined, a.address, b.address]) {
      const w = distIngest(ref, ['--expected-digest', d], address);
      w.child.stdin!.end(data);
      runs.push(w.done);
    }
    const results = await Promise.all(runs);
    results.forEach((r, i) => expect(r.code, `client ${i}: ${r.stderr}`).toBe(0));
    const list = (await runCli(['list', '-q'], { root })).stdout.split('\n');
    expect(list.filter((x) => x === d)).toHaveLength(1);
    expect(JSON.parse((await runCli(['active', '--json'], { root })).stdout)).toEqual([]);
    const verify = await runCli(['verify'], { root });
    expect(verify.code, verify.stderr).toBe(0);
  });
});
