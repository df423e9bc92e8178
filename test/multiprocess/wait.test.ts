/**
 * Issue 3 — waiting for a held ref: writer({wait}) notices the release quickly, a bounded
 * wait times out with Unavailable, content committed meanwhile is AlreadyExists (success for
 * writeBlob and the CLI), and two processes ingesting one digest under different refs both
 * succeed with the blob stored once.
 */
import { describe, expect, it } from 'vitest';
import { badBlobs, blobNames, child, cli, dist, ingest, ingestEntries, seededBytes, sha256, sleep, useScratch } from './helpers.js';

const { newRoot, track } = useScratch('wait');

describe('writer({wait})', () => {
  it('waits for a held ref and notices its release quickly (not by polling)', async () => {
    const root = await newRoot();
    const ref = 'waited-ref';
    const h = track(child('holder', { root, ref, bytes: 4096, seed: 11 }));
    await h.next(['ready']);
    const w = track(child('ingest', { root, ref, content: { seed: 12, size: 100_000 }, wait: true }));
    // Held for 2.5 s: by then a pure exponential poll would sleep ~0.5–1.5 s between tries.
    await sleep(2500);
    expect(w.alive).toBe(true);
    expect(w.stdout).toBe('');
    h.send('close');
    const [, closed] = await h.next(['closed']);
    const [tag, res] = await w.next(['result', 'error', 'uncaught']);
    expect(tag, JSON.stringify(res)).toBe('result');
    const latency = res.openedAt - closed.at;
    expect(latency).toBeLessThan(400);
    // It resumed the holder's 4096 bytes (different content: the ref is an ingest name, the
    // source decides) — and the committed digest is that of the bytes in the store.
    expect(res.resumes[0]).toMatchObject({ size: 4096 });
    expect(await badBlobs(root)).toEqual([]);
  });

  it('a bounded wait that expires fails with Unavailable naming the holder', async () => {
    const { lib } = await dist();
    const root = await newRoot();
    const ref = 'bounded';
    const h = track(child('holder', { root, ref, bytes: 10 }));
    const [, ready] = await h.next(['ready']);
    const store = lib.openStore(root);
    const t0 = Date.now();
    const err = await store.writer({ ref, wait: 800 }).then(
      () => undefined,
      (e: any) => e,
    );
    const took = Date.now() - t0;
    expect(err?.kind).toBe('Unavailable');
    expect(err.details.holder.pid).toBe(ready.pid);
    expect(took).toBeGreaterThanOrEqual(780);
    expect(took).toBeLessThan(2500);
    await h.kill();
  });

  it('after the wait, content committed meanwhile is AlreadyExists (writer) and success (writeBlob, CLI)', async () => {
    const { lib } = await dist();
    const root = await newRoot();
    const size = 300_000;
    const content = seededBytes(21, size);
    const digest = sha256(content);
    // The holder has written exactly this content under ref = digest, and has not committed.
    const h = track(child('holder', { root, ref: digest, bytes: size, seed: 21, expected: digest }));
    await h.next(['ready']);
    const store = lib.openStore(root);
    const raw = store.writer({ ref: digest, expected: digest, wait: 20_000 }).then(
      () => 'opened',
      (e: any) => e,
    );
    const viaWriteBlob = track(child('ingest', { root, ref: digest, expected: digest, content: { seed: 21, size }, wait: true }));
    const viaCli = cli(root, ['ingest', '--expected-digest', digest], { input: content });
    await sleep(1000);
    expect(viaWriteBlob.alive).toBe(true);
    h.send('commit');
    const [, committed] = await h.next(['committed']);
    expect(committed.digest).toBe(digest);

    const rawErr = await raw;
    expect(rawErr?.kind).toBe('AlreadyExists');
    expect(rawErr.code).toBe('ERR_BLOB_EXISTS');
    const [tag, res] = await viaWriteBlob.next(['result', 'error', 'uncaught']);
    expect(tag, JSON.stringify(res)).toBe('result');
    expect(res).toMatchObject({ digest, existed: true, written: 0 });
    const c = await viaCli;
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toContain('already exists');
    expect(await blobNames(root)).toEqual([digest]);
    expect(await ingestEntries(root)).toEqual([]);
  });

  it('CLI: ingest waits by default, --wait=DURATION bounds it, --no-wait fails fast (exit 5)', async () => {
    const root = await newRoot();
    const ref = 'cli-wait';
    const h = track(child('holder', { root, ref, bytes: 10 }));
    const [, ready] = await h.next(['ready']);

    let t0 = Date.now();
    const noWait = await cli(root, ['ingest', '--no-wait', ref], { input: 'abc' });
    expect(noWait.code).toBe(5);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(noWait.stderr).toContain(`pid ${ready.pid}`);

    t0 = Date.now();
    const bounded = await cli(root, ['ingest', '--wait=700ms', ref], { input: 'abc' });
    const took = Date.now() - t0;
    expect(bounded.code).toBe(5);
    expect(took).toBeGreaterThanOrEqual(700);
    expect(bounded.stderr).toContain(`pid ${ready.pid}`);

    const waiting = cli(root, ['ingest', ref], { input: 'hello' });
    await sleep(1200);
    h.send('close');
    await h.next(['closed']);
    const r = await waiting;
    // It resumed the holder's 10 bytes: stdin's first 10 bytes are skipped (only 5 here), so
    // the content is the holder's 10 bytes — what matters: exit 0 and a blob matching its name.
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await badBlobs(root)).toEqual([]);
  });
});

describe('same digest, different refs', () => {
  it('two processes ingesting one digest under different refs both succeed; the blob is stored once', async () => {
    for (let round = 0; round < 3; round++) {
      const root = await newRoot();
      const size = 6 << 20;
      const digest = sha256(seededBytes(31 + round, size));
      const [a, b] = await Promise.all(
        ['ref-a', 'ref-b'].map((ref) => ingest({ root, ref, expected: digest, content: { seed: 31 + round, size }, source: 'stream' })),
      );
      expect(a!.tag, JSON.stringify(a)).toBe('result');
      expect(b!.tag, JSON.stringify(b)).toBe('result');
      expect(a!.digest).toBe(digest);
      expect(b!.digest).toBe(digest);
      expect(await blobNames(root)).toEqual([digest]);
      expect(await badBlobs(root)).toEqual([]);
      expect(await ingestEntries(root)).toEqual([]);
    }
    // And through the CLI.
    const root = await newRoot();
    const content = seededBytes(41, 3 << 20);
    const digest = sha256(content);
    const rs = await Promise.all(['x', 'y', 'z'].map((ref) => cli(root, ['ingest', '--expected-digest', digest, ref], { input: content })));
    for (const r of rs) expect(r.code, r.stderr).toBe(0);
    expect(await blobNames(root)).toEqual([digest]);
    expect(await ingestEntries(root)).toEqual([]);
  });
});
