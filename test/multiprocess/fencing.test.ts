/**
 * Issue 8, "Split brain after a pause longer than staleMs corrupts committed blobs": a holder
 * stopped (SIGSTOP) past staleMs, a forced takeover of it, a holder on another host taken
 * over onto new files, a taker paused inside the takeover guard, and a lost lock's release.
 * In every case: nothing the process that lost the ref does reaches the store — no write
 * lands in another writer's data, no link, chmod or unlink of another writer's files, and
 * every committed blob's bytes hash to its name.
 */
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  badBlobs,
  blobNames,
  child,
  CLI,
  cli,
  deadPid,
  dist,
  exists,
  ingest,
  ingestPaths,
  layoutIngest,
  ownerRecord,
  Proc,
  seededBytes,
  sha256,
  sleep,
  startTicks,
  useScratch,
  waitUntil,
} from './helpers.js';

const { newRoot, track } = useScratch('fencing');
const STALE = 2000;
const ENV = { DIST_LOCK_STALE_MS: String(STALE), DIST_JOBS: '1' };

/** `dist ingest REF` fed by the test through a pipe, so it can be paused mid-stream. */
function streamingIngest(root: string, ref: string, env: Record<string, string> = {}): Proc {
  const e = { ...process.env, ...ENV, ...env };
  delete e.DIST_ROOT;
  return track(new Proc(process.execPath, [CLI, '--root', root, 'ingest', ref], { env: e }));
}

async function activeState(root: string, ref: string): Promise<Record<string, any> | undefined> {
  const r = await cli(root, ['active', '--json'], { env: ENV });
  return (JSON.parse(r.stdout) as Array<Record<string, any>>).find((s) => s.ref === ref);
}

async function offsetReaches(root: string, ref: string, n: number): Promise<void> {
  await waitUntil(async () => ((await activeState(root, ref))?.offset ?? 0) >= n, 10_000, `offset ${n}`);
}

const A = seededBytes(11, 3 << 20);
const B = seededBytes(12, 2 << 20);

describe('a holder stopped longer than staleMs', () => {
  it('keeps its ref: a second writer is refused (exit 5, "stalled"), active shows it stalled, and the holder finishes correctly', async () => {
    const root = await newRoot();
    const h = streamingIngest(root, 'myref');
    h.proc.stdin.write(A.subarray(0, 1 << 20));
    await offsetReaches(root, 'myref', 1 << 20);
    h.proc.kill('SIGSTOP');
    await sleep(STALE * 1.5);

    const t = await cli(root, ['ingest', '--no-wait', 'myref'], { input: B, env: ENV });
    expect(t.code, t.stderr).toBe(5);
    expect(t.stderr).toMatch(/is locked: held by pid \d+ .*heartbeat stopped .*alive.*abort --force/);
    const s = await activeState(root, 'myref');
    expect(s?.state).toBe('stalled');
    const table = await cli(root, ['active'], { env: ENV });
    expect(table.stdout).toMatch(/myref .* stalled\n/);
    // A bounded wait gives up with the same answer.
    const tw = await cli(root, ['ingest', '--wait=1s', 'myref'], { input: B, env: ENV });
    expect(tw.code).toBe(5);

    h.proc.kill('SIGCONT');
    h.proc.stdin.end(A.subarray(1 << 20));
    const r = await h.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(sha256(A));
    expect(await badBlobs(root)).toEqual([]);
    expect((await cli(root, ['verify'], { env: ENV })).code).toBe(0);
  }, 60_000);
});

describe('a forced takeover (abort --force) of a stopped holder', () => {
  it('mid-stream: the holder’s late writes and commit never reach the new ingest or its blob', async () => {
    const root = await newRoot();
    const h = streamingIngest(root, 'myref');
    h.proc.stdin.write(A.subarray(0, 1 << 20));
    await offsetReaches(root, 'myref', 1 << 20);
    h.proc.kill('SIGSTOP');

    const ab = await cli(root, ['abort', '--force', 'myref'], { env: ENV });
    expect(ab.code, ab.stderr).toBe(0);
    // A second writer on the same ref commits other content.
    const t = streamingIngest(root, 'myref');
    t.proc.stdin.write(B.subarray(0, 1 << 20));
    await offsetReaches(root, 'myref', 1 << 20);

    // The stopped holder wakes up and goes on writing and then commits.
    h.proc.kill('SIGCONT');
    h.proc.stdin.end(A.subarray(1 << 20));
    const hr = await h.exited;
    expect(hr.code, hr.stderr).toBe(8); // LockCompromised
    expect(hr.stderr).toMatch(/lost|taken over/);

    t.proc.stdin.end(B.subarray(1 << 20));
    const tr = await t.exited;
    expect(tr.code, tr.stderr).toBe(0);
    expect(tr.stdout.trim()).toBe(sha256(B));
    expect(await blobNames(root)).toEqual([sha256(B)]);
    expect(await badBlobs(root)).toEqual([]);
  }, 60_000);

  it('stopped between fsync and link: wakes up, publishes nothing, touches nothing of the successor’s', async () => {
    const root = await newRoot();
    const h = streamingIngest(root, 'myref', { CONTAINERKIT_CRASHPOINT: 'commit:after-fsync' });
    h.proc.stdin.end(A);
    await h.stderrIncludes('CRASHPOINT commit:after-fsync');

    expect((await cli(root, ['abort', '--force', 'myref'], { env: ENV })).code).toBe(0);
    // The successor holds the ref with half of B when the old holder wakes up.
    const t = streamingIngest(root, 'myref');
    t.proc.stdin.write(B.subarray(0, 1 << 20));
    await offsetReaches(root, 'myref', 1 << 20);
    const p = ingestPaths(root, 'myref');
    const before = await stat(p.data);

    h.proc.kill('SIGCONT');
    const hr = await h.exited;
    expect(hr.code, hr.stderr).toBe(8);
    // Its data, status and directory are the successor's still: same file, same bytes, writable.
    const after = await stat(p.data);
    expect([after.ino, after.size, after.mode & 0o777]).toEqual([before.ino, before.size, before.mode & 0o777]);
    expect(await exists(p.status)).toBe(true);

    t.proc.stdin.end(B.subarray(1 << 20));
    const tr = await t.exited;
    expect(tr.code, tr.stderr).toBe(0);
    expect(await blobNames(root)).toEqual([sha256(B)]);
    expect(await badBlobs(root)).toEqual([]);
    expect((await stat(join(root, 'blobs', 'sha256', sha256(B).slice(7)))).mode & 0o777).toBe(0o444);
  }, 60_000);

  it('a lost lock’s release and exit hook leave the successor’s lock in place', async () => {
    const root = await newRoot();
    const ref = 'release-race';
    const p = ingestPaths(root, ref);
    const h = track(child('holder', { root, ref, bytes: 100_000, lock: { staleMs: STALE, updateMs: 1000 } }));
    await h.next(['ready']);
    h.proc.kill('SIGSTOP');
    expect((await cli(root, ['abort', '--force', ref], { env: ENV })).code).toBe(0);
    const t = track(child('holder', { root, ref, bytes: 50_000, seed: 5, lock: { staleMs: STALE, updateMs: 1000 } }));
    await t.next(['ready']);
    const lockBefore = await stat(p.lock);

    h.proc.kill('SIGCONT');
    h.send('close');
    await h.next(['closed', 'error']);
    h.send('exit');
    expect((await h.exited).code).toBe(0);

    const lockAfter = await stat(p.lock).catch(() => undefined);
    expect(lockAfter?.ino).toBe(lockBefore.ino);
    t.send('commit');
    const [tag, res] = await t.next(['committed', 'error']);
    expect(tag, JSON.stringify(res)).toBe('committed');
    expect(res.digest).toBe(sha256(seededBytes(5, 50_000)));
    t.send('exit');
    await t.exited;
  }, 60_000);
});

describe('a holder on another host whose heartbeat stopped', () => {
  it('is taken over onto new files: its late writes land in an orphan, its commit fails, the successor commits the right bytes', async () => {
    const root = await newRoot();
    const ref = 'remote-holder';
    const p = ingestPaths(root, ref);
    const { status: statusMod } = await dist();
    const lock = { staleMs: STALE, updateMs: 1000 };
    const h = track(child('holder', { root, ref, bytes: 1 << 20, seed: 1, lock }));
    await h.next(['ready']);
    h.proc.kill('SIGSTOP');
    // Make it look like a holder on another host (liveness unknown from here).
    const st = await stat(p.lock);
    await writeFile(p.owner, await ownerRecord({ pid: h.pid, host: 'elsewhere' }, st));
    const rec = statusMod.readStatus(p.status);
    const { file } = await statusMod.StatusFile.open(p.status);
    await file.write({ ...rec, owner: { ...rec.owner, host: 'elsewhere' }, writing: true });
    await file.close();
    const oldData = await stat(p.data);
    await sleep(STALE * 1.5);

    // The successor continues the same stream from the holder's offset, on its own copy.
    const t = track(child('holder', { root, ref, bytes: 2 << 20, seed: 1, lock }));
    const [, ready] = await t.next(['ready']);
    expect(ready.offset).toBe(2 << 20);
    expect((await stat(p.data)).ino).not.toBe(oldData.ino);

    h.proc.kill('SIGCONT');
    h.send('write 500000');
    await h.next(['wrote', 'error']);
    t.send('commit');
    const [tag, res] = await t.next(['committed', 'error']);
    expect(tag, JSON.stringify(res)).toBe('committed');
    expect(res.digest).toBe(sha256(seededBytes(1, 2 << 20)));
    h.send('commit');
    const [htag, hres] = await h.next(['committed', 'error']);
    expect(htag).toBe('error');
    expect(hres.kind).toBe('LockCompromised');
    expect(await blobNames(root)).toEqual([res.digest]);
    expect(await badBlobs(root)).toEqual([]);
    for (const c of [h, t]) c.send('exit');
    await Promise.all([h.exited, t.exited]);
  }, 60_000);
});

describe('the takeover guard', () => {
  it('a taker stopped inside it for longer than staleMs keeps it: no second taker enters', async () => {
    const root = await newRoot();
    const ref = 'guarded';
    const p = ingestPaths(root, ref);
    await layoutIngest(root, { ref, lock: { owner: { pid: await deadPid() } } });
    const content = { seed: 9, size: 10_000 };
    const t1 = track(child('ingest', { root, ref, content, lock: { staleMs: STALE, updateMs: 1000 } }, { CONTAINERKIT_CRASHPOINT: 'takeover:in-guard' }));
    await t1.stderrIncludes('CRASHPOINT takeover:in-guard');
    // Longer than staleMs and than the old 5 s guard expiry.
    await sleep(6000);
    const r2 = await ingest({ root, ref, content, lock: { staleMs: STALE, updateMs: 1000 } });
    expect(r2.tag).toBe('error');
    expect(r2.kind).toBe('Unavailable');
    expect(r2.message).toMatch(/being taken over/);

    t1.proc.kill('SIGCONT');
    const [tag, res] = await t1.next(['result', 'error']);
    expect(tag, JSON.stringify(res)).toBe('result');
    expect(res.digest).toBe(sha256(seededBytes(9, 10_000)));
    expect(await exists(p.guard)).toBe(false);
    expect(await exists(p.lock)).toBe(false);
  }, 60_000);
});

describe('stalled is only for live holders', () => {
  it('a holder whose pid is alive with another start time (reused) is dead: taken over at once', async () => {
    const root = await newRoot();
    const ref = 'reused';
    await layoutIngest(root, { ref, lock: { owner: { pid: process.pid, startTicks: (await startTicks(process.pid)) + 1 } } });
    const r = await ingest({ root, ref, content: { seed: 3, size: 5000 }, lock: { staleMs: STALE, updateMs: 1000 } });
    expect(r.tag, JSON.stringify(r)).toBe('result');
    expect(createHash('sha256').update(await readFile(join(root, 'blobs', 'sha256', r.digest.slice(7)))).digest('hex')).toBe(r.digest.slice(7));
  });
});
