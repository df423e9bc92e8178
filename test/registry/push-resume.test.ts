/**
 * Interrupted pushes of the 256 MiB image (four 64 MiB layers), counted through a proxy
 * that holds uploads at a byte count so the interruption lands mid-layer every time:
 *   - SIGINT: the segments in flight end cleanly, the registry acknowledges them, the
 *     sessions are recorded under the root, exit 130; the rerun (another process) asks the
 *     registry for each session's offset and sends only the rest — no byte twice.
 *   - SIGKILL: layers already committed are not sent again; the layer cut off mid-segment
 *     starts over, because distribution cancels a session whose data outgrew the offset
 *     signed into its URL (README: push). The rerun still ends with a verified image.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { bigImage } from './helpers/big-image.js';
import { dist, expectOk, startDist, type Run } from './helpers/cli.js';
import type { Image } from './helpers/image.js';
import { startProxy, type Proxy } from './helpers/proxy.js';
import { pushImage } from './helpers/push.js';
import { startRegistry, type Registry } from './helpers/registry.js';
import { hasRemoteBlob, remoteManifest } from './helpers/registry-read.js';
import { readIndexJson } from './helpers/store-check.js';

const MiB = 1 << 20;
let src: Registry;
let dst: Registry;
let proxy: Proxy;
let tmp: string;
let rootA: string;
let img: Image;
let name: string;
/** Bytes a push of the whole image sends (config and layers). */
let total: number;

beforeAll(async () => {
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  proxy = await startProxy(dst.host);
  tmp = await mkdtemp(join(tmpdir(), 'ck-push-resume-'));
  img = await bigImage('push');
  await pushImage({ host: src.host }, 'big/img', 'v1', img);
  name = `${src.host}/big/img:v1`;
  rootA = await mkdtemp(join(tmp, 'root-'));
  expectOk(await dist(['pull', '--plain-http', name], { root: rootA }));
  total = img.config.size + img.layers.reduce((t, l) => t + l.size, 0);
}, 180_000);

afterAll(async () => {
  await proxy?.close();
  await Promise.all([src?.stop(), dst?.stop()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  proxy.reset();
  proxy.options = {};
});

/** Waits until the proxy holds the uploads at `at` bytes; fails at once if the push exits first. */
async function waitHeld(at: number, run: { done: Promise<Run> }): Promise<void> {
  let exited: Run | undefined;
  void run.done.then((r) => (exited = r));
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`push exited early (${exited.code ?? exited.signal}): ${exited.stderr}`);
    if (proxy.uploadBytes >= at) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`push never reached ${at} bytes (proxy forwarded ${proxy.uploadBytes})`);
}

function events(out: Buffer): Array<Record<string, unknown>> {
  return out.toString().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Upload sessions recorded under the root (records with a `session`). */
function recordedSessions(root: string): Array<{ repository: string; offset: number }> {
  const dir = join(root, 'uploads');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^[0-9a-f]{64}$/.test(f))
    .flatMap((f) => {
      const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { session?: { repository: string; offset: number } };
      return r.session ? [r.session] : [];
    });
}

const mib = (n: number) => (n / MiB).toFixed(1);

test('SIGINT mid-layer: exit 130 with the sessions recorded; the rerun continues each layer where the registry says, no byte sent twice', async () => {
  const to = `${proxy.host}/resume/sigint:v1`;
  proxy.options = { holdUploadsAfter: 100 * MiB };
  const first = startDist(['push', '--plain-http', name, to], { root: rootA });
  await waitHeld(100 * MiB, first);
  first.child.kill('SIGINT');
  // The push ends its segments where they are; let the held bytes through so the registry answers.
  await new Promise((r) => setTimeout(r, 300));
  proxy.release();
  const r1 = await first.done;
  expect(r1.code).toBe(130);
  expect(r1.stderr).toMatch(/interrupted by SIGINT/);
  const moved1 = proxy.uploadBytes;
  const sessions = recordedSessions(rootA);
  expect(sessions.length).toBeGreaterThan(0);
  for (const s of sessions) expect(s).toMatchObject({ repository: 'resume/sigint', offset: expect.any(Number) });
  expect(sessions.reduce((t, s) => t + s.offset, 0)).toBeGreaterThan(90 * MiB);
  expect(await remoteManifest(dst.host, 'resume/sigint', 'v1')).toBeUndefined();

  proxy.reset();
  const r2 = await dist(['push', '--plain-http', '--json', name, to], { root: rootA });
  expectOk(r2);
  const moved2 = proxy.uploadBytes;
  console.log(`push SIGINT: image ${mib(total)} MiB; interrupted run sent ${mib(moved1)} MiB, rerun sent ${mib(moved2)} MiB`);
  const ev = events(r2.stdout);
  const done = ev.find((e) => e.event === 'done')!;
  const partial = sessions.filter((s) => s.offset > 0);
  expect(partial.length).toBeGreaterThan(0);
  expect(done.resumed).toBe(partial.length);
  const resumedAt = ev.filter((e) => e.event === 'blob' && e.state === 'uploading' && (e.offset as number) > 0);
  expect(resumedAt.map((e) => e.offset).sort()).toEqual(partial.map((s) => s.offset).sort());
  expect(moved2).toBeLessThan(total - 90 * MiB);
  expect(moved1 + moved2).toBe(total);
  expect(recordedSessions(rootA)).toEqual([]);
  expect((await remoteManifest(dst.host, 'resume/sigint', 'v1'))?.equals(img.manifest.bytes)).toBe(true);

  // Host B pulls it back: every blob verified against its digest on the way in.
  const rootB = await mkdtemp(join(tmp, 'hostB-'));
  expectOk(await dist(['pull', '--plain-http', `${dst.host}/resume/sigint:v1`], { root: rootB }));
  expect(readIndexJson(rootB).manifests.map((m) => m.digest)).toEqual([img.manifest.digest]);
}, 240_000);

test('SIGKILL mid-layer: committed layers are not sent again; the layer cut off starts over (distribution drops its session)', async () => {
  const to = `${proxy.host}/resume/sigkill:v1`;
  const [l0, l1] = img.layers;
  // Forget that the first test pushed these blobs to a sibling repository (else they are
  // mounted): upload records are hints, safe to delete at any time.
  await rm(join(rootA, 'uploads'), { recursive: true, force: true });
  // One blob at a time: config, layer 0 (committed), then layer 1 is 36 MiB in when held.
  proxy.options = { holdUploadsAfter: 100 * MiB };
  const first = startDist(['push', '--plain-http', '-j', '1', name, to], { root: rootA });
  await waitHeld(100 * MiB, first);
  first.child.kill('SIGKILL');
  const r1 = await first.done;
  expect(r1.signal).toBe('SIGKILL');
  proxy.release();
  // What the dead client had sent is still in the proxy's buffers: count it for this run.
  for (const until = Date.now() + 30_000; proxy.activeUploads > 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
  expect(proxy.activeUploads).toBe(0);
  const moved1 = proxy.uploadBytes;
  expect(await hasRemoteBlob(dst.host, 'resume/sigkill', l0!.digest)).toBe(true);
  expect(await hasRemoteBlob(dst.host, 'resume/sigkill', l1!.digest)).toBe(false);
  expect(recordedSessions(rootA)).toMatchObject([{ repository: 'resume/sigkill', offset: 0 }]);

  proxy.reset();
  const r2 = await dist(['push', '--plain-http', '--json', '-j', '1', name, to], { root: rootA });
  expectOk(r2);
  const moved2 = proxy.uploadBytes;
  console.log(`push SIGKILL: killed run sent ${mib(moved1)} MiB, rerun sent ${mib(moved2)} MiB (layer 1 again from 0)`);
  const ev = events(r2.stdout);
  const states = (digest: string) => ev.filter((e) => e.event === 'blob' && e.digest === digest).map((e) => e.state);
  expect(states(img.config.digest)).toContain('exists');
  expect(states(l0!.digest)).toContain('exists');
  expect(ev.filter((e) => e.event === 'blob' && e.digest === l1!.digest && e.state === 'uploading')).toEqual([expect.objectContaining({ offset: 0 })]);
  expect(moved2).toBe(total - img.config.size - l0!.size);
  expect(recordedSessions(rootA)).toEqual([]);
  expect((await remoteManifest(dst.host, 'resume/sigkill', 'v1'))?.equals(img.manifest.bytes)).toBe(true);
}, 240_000);
