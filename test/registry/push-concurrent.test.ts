/**
 * Concurrent pushes from several processes on one store root, of images sharing a layer,
 * through a proxy that counts (and slows) uploads: the processes take turns on each blob
 * through the store's ref locks, so every distinct blob crosses the wire once — the one
 * that waited then finds it in its repository (HEAD) or mounts it from the sibling the
 * first process pushed it to.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { dist, expectOk, startDist, type Run } from './helpers/cli.js';
import { image, layer, type Image } from './helpers/image.js';
import { startProxy, type Proxy } from './helpers/proxy.js';
import { pushImage } from './helpers/push.js';
import { startRegistry, type Registry } from './helpers/registry.js';
import { remoteManifest } from './helpers/registry-read.js';

const MiB = 1 << 20;
let src: Registry;
let dst: Registry;
let proxy: Proxy;
let tmp: string;
let root: string;
let x: Image;
let y: Image;

beforeAll(async () => {
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  proxy = await startProxy(dst.host);
  tmp = await mkdtemp(join(tmpdir(), 'ck-push-cc-'));
  const shared = await layer([{ name: 'shared.bin', size: 24 * MiB, seed: 'push-cc-shared' }]);
  x = image([shared, await layer([{ name: 'x.bin', size: MiB, seed: 'push-cc-x' }])], { label: 'x' });
  y = image([shared, await layer([{ name: 'y.bin', size: MiB, seed: 'push-cc-y' }])], { label: 'y' });
  await pushImage({ host: src.host }, 'cc/x', 'v1', x);
  await pushImage({ host: src.host }, 'cc/y', 'v1', y);
  root = await mkdtemp(join(tmp, 'root-'));
  for (const n of ['x', 'y']) expectOk(await dist(['pull', '--plain-http', `${src.host}/cc/${n}:v1`], { root }));
});

afterAll(async () => {
  await proxy?.close();
  await Promise.all([src?.stop(), dst?.stop()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function events(r: Run): Array<{ event: string; digest?: string; state?: string }> {
  return r.stdout.toString().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string });
}

test('three processes pushing images that share a 24 MiB layer send each distinct blob once', async () => {
  const shared = x.layers[0]!;
  // 4 MiB/s per upload: the shared layer takes 6 s, long enough for the others to start and meet it.
  proxy.options = { uploadRate: 4 * MiB };
  const a = startDist(['push', '--plain-http', '--json', `${src.host}/cc/x:v1`, `${proxy.host}/cc/x:v1`], { root });
  for (const until = Date.now() + 60_000; proxy.uploadBytes < 4 * MiB && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
  expect(proxy.uploadBytes).toBeGreaterThanOrEqual(4 * MiB);
  // B pushes y to a sibling repository, C pushes y into x's repository under another tag.
  const b = startDist(['push', '--plain-http', '--json', `${src.host}/cc/y:v1`, `${proxy.host}/cc/y:v1`], { root });
  const c = startDist(['push', '--plain-http', '--json', `${src.host}/cc/y:v1`, `${proxy.host}/cc/x:y`], { root });
  const [ra, rb, rc] = await Promise.all([a.done, b.done, c.done]);
  for (const r of [ra, rb, rc]) expectOk(r);

  const distinct = new Map([x.config, y.config, ...x.layers, ...y.layers].map((blob) => [blob.digest, blob.size]));
  const once = [...distinct.values()].reduce((t, n) => t + n, 0);
  expect(proxy.uploadBytes).toBe(once);

  const sharedStates = (r: Run) => events(r).filter((e) => e.event === 'blob' && e.digest === shared.digest).map((e) => e.state);
  expect(sharedStates(ra)).toContain('done');
  // B and C found the layer held by A, waited, then mounted it (B) or found it in place (C).
  expect(sharedStates(rb)).toEqual(expect.arrayContaining(['waiting', 'mounted']));
  expect(sharedStates(rc)).toContain('waiting');
  expect(sharedStates(rc).at(-1)).toMatch(/^(exists|mounted)$/);

  expect((await remoteManifest(dst.host, 'cc/x', 'v1'))?.equals(x.manifest.bytes)).toBe(true);
  expect((await remoteManifest(dst.host, 'cc/y', 'v1'))?.equals(y.manifest.bytes)).toBe(true);
  expect((await remoteManifest(dst.host, 'cc/x', 'y'))?.equals(y.manifest.bytes)).toBe(true);
}, 120_000);
