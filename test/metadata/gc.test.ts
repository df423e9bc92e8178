/**
 * Issue 10 — references and garbage collection against a real registry: the roots (names,
 * gc.root labels, leases), the edges (index → manifests → config and layers; gc.ref labels),
 * the grace period, `delete` refusing a referenced blob, `images rm`, and the issue's
 * reproduction: a layer deleted while a pull that relies on it runs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dist, expectOk, startDist } from '../registry/helpers/cli.js';
import { image, index, layer, type Image } from '../registry/helpers/image.js';
import { startProxy, type Proxy } from '../registry/helpers/proxy.js';
import { pushImage, pushIndex } from '../registry/helpers/push.js';
import { startRegistry, type Registry } from '../registry/helpers/registry.js';
import { blobFiles, verifyAllBlobs } from '../registry/helpers/store-check.js';

let reg: Registry;
let proxy: Proxy;
let tmp: string;
const img: Record<string, Image> = {};
let shared: Awaited<ReturnType<typeof layer>>;
let solo: Awaited<ReturnType<typeof layer>>;

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startProxy(reg.host);
  tmp = await mkdtemp(join(tmpdir(), 'ck-gc-'));
  const t = { host: reg.host };
  shared = await layer([{ name: 'shared.bin', size: 512 << 10, seed: 'gc-shared' }]);
  solo = await layer([{ name: 'solo.bin', size: 4 << 20, seed: 'gc-solo' }]);
  const l = (n: string) => layer([{ name: `${n}.bin`, size: 256 << 10, seed: n }]);
  img.a = image([shared, await l('gc-a')], { label: 'a' });
  img.b = image([shared, await l('gc-b')], { format: 'docker', label: 'b' });
  img.slow = image([solo, await l('gc-slow')], { label: 'slow' });
  img.amd64 = image([shared, await l('gc-amd64')], { platform: { os: 'linux', architecture: 'amd64' }, label: 'amd64' });
  img.arm64 = image([shared, await l('gc-arm64')], { platform: { os: 'linux', architecture: 'arm64' }, label: 'arm64' });
  await pushImage(t, 'gc/a', 'v1', img.a!);
  await pushImage(t, 'gc/b', 'v1', img.b!);
  await pushImage(t, 'gc/slow', 'v1', img.slow!);
  await pushIndex(t, 'gc/multi', 'v1', [img.amd64!, img.arm64!], index([img.amd64!, img.arm64!]));
});

afterAll(async () => {
  await proxy?.close();
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const root = () => mkdtemp(join(tmp, 'store-'));
const pull = async (r: string, name: string, extra: string[] = [], host = reg.host) => {
  const p = await dist(['pull', '--plain-http', ...extra, `${host}/${name}`], { root: r });
  expect(p.code, p.stderr).toBe(0);
};
async function gc(r: string, ...args: string[]) {
  const g = await dist(['gc', '--json', ...args], { root: r });
  expect(g.code, g.stderr).toBe(0);
  return JSON.parse(g.stdout.toString()) as { removed: { count: number; digests: string[] }; referenced: number; keptByGrace: { count: number } };
}
const images = async (r: string) => JSON.parse((await dist(['images', '--json'], { root: r })).stdout.toString()) as Array<{ name: string; missing: number }>;

describe('gc', () => {
  test('keeps every blob of every named image (OCI, Docker with its OCI view, a whole index); removes the rest; untag + gc empties the store', async () => {
    const r = await root();
    await pull(r, 'gc/a:v1');
    await pull(r, 'gc/b:v1');
    await pull(r, 'gc/multi:v1', ['--all-platforms']);
    const before = blobFiles(r).sort();
    const stray = await dist(['ingest', 'stray'], { root: r, input: Buffer.from('nobody refers to me') });
    expect(stray.code).toBe(0);
    const g = await gc(r, '--grace', '0s');
    expect(g.removed.count).toBe(1);
    expect(blobFiles(r).sort()).toEqual(before);
    expect((await images(r)).every((i) => i.missing === 0)).toBe(true);

    // Untag one image: its own blobs go, the shared layer stays for the others.
    expectOk(await dist(['images', 'rm', `${reg.host}/gc/a:v1`], { root: r }));
    const g2 = await gc(r, '--grace', '0s');
    expect(g2.removed.digests.sort()).toEqual([img.a!.manifest.digest, img.a!.config.digest, img.a!.layers[1]!.digest].sort());
    expect(blobFiles(r)).toContain(shared.digest);
    expect((await images(r)).every((i) => i.missing === 0)).toBe(true);

    expectOk(await dist(['images', 'rm', `${reg.host}/gc/b:v1`, `${reg.host}/gc/multi:v1`], { root: r }));
    expect((await dist(['images', 'rm', 'no/such:name'], { root: r })).code).toBe(3);
    await gc(r, '--grace', '0s');
    expect(blobFiles(r)).toEqual([]);
    expect(await verifyAllBlobs(r)).toEqual({ count: 0, bad: [] });
  });

  test('grace keeps young unreferenced blobs; --dry-run removes nothing; steps are reported', async () => {
    const r = await root();
    await dist(['ingest', 'young'], { root: r, input: Buffer.from('young blob') });
    const g = await gc(r);
    expect(g.removed.count).toBe(0);
    expect(g.keptByGrace.count).toBe(1);
    const dry = await dist(['gc', '--grace', '0s', '--dry-run', '--json'], { root: r });
    const report = JSON.parse(dry.stdout.toString());
    expect(report.removed.count).toBe(1);
    expect(report.steps.map((s: { name: string }) => s.name)).toEqual(['leases', 'ingests', 'roots', 'mark', 'sweep', 'labels', 'prune']);
    expect(blobFiles(r).length).toBe(1);
    const human = await dist(['gc', '--grace', '0s'], { root: r });
    expect(human.stderr).toMatch(/^removed 1 blob\(s\), 10B; kept 0 referenced/);
  });

  test('gc.root labels are roots; gc.ref.content labels are edges', async () => {
    const r = await root();
    const put = async (s: string) => {
      const o = await dist(['ingest', s], { root: r, input: Buffer.from(s) });
      return o.stdout.toString().trim();
    };
    const [top, child, loose] = [await put('top'), await put('child'), await put('loose')];
    expectOk(await dist(['label', top, 'containerd.io/gc.root=now', `containerd.io/gc.ref.content.c=${child}`], { root: r }), 'label');
    const g = await gc(r, '--grace', '0s');
    expect(g.removed.digests).toEqual([loose]);
    expect(blobFiles(r).sort()).toEqual([top, child].sort());
    expectOk(await dist(['label', top, 'containerd.io/gc.root='], { root: r }), 'label');
    expect((await gc(r, '--grace', '0s')).removed.digests.sort()).toEqual([top, child].sort());
  });
});

describe('delete', () => {
  test('refuses a layer of a named image, naming the image (exit 6); --force deletes it and images says 1 missing', async () => {
    const r = await root();
    await pull(r, 'gc/a:v1');
    const d = await dist(['delete', shared.digest], { root: r });
    expect(d.code).toBe(6);
    expect(d.stderr).toContain(`${shared.digest} is referenced by ${img.a!.manifest.digest} (kept by image "${reg.host}/gc/a:v1")`);
    const f = await dist(['delete', '--force', shared.digest], { root: r });
    expect(f.code, f.stderr).toBe(0);
    expect(await images(r)).toEqual([expect.objectContaining({ missing: 1 })]);
    expect((await dist(['images'], { root: r })).stdout.toString()).toMatch(/1 missing\n$/);
  });

  test('the issue’s reproduction: a layer present before a pull, deleted while the pull runs, stays (the pull’s lease refuses it)', async () => {
    const r = await root();
    // L1 is in the store, unreferenced, before the pull starts.
    const solo4 = await dist(['fetch', '--plain-http', `${reg.host}/gc/slow`, solo.digest], { root: r });
    expectOk(await dist(['ingest', '--expected-digest', solo.digest], { root: r, input: solo4.stdout }), 'ingest L1');
    // A slow registry keeps the pull busy with its other layer.
    proxy.options.blobDelayMs = 1500;
    try {
      const p = startDist(['pull', '--plain-http', `${proxy.host}/gc/slow:v1`], { root: r });
      // Wait until the pull has its lease with L1 in it.
      for (let i = 0; i < 100; i++) {
        const ls = JSON.parse((await dist(['lease', 'ls', '--json'], { root: r })).stdout.toString() || '[]') as Array<{ resources: number }>;
        if (ls.some((l) => l.resources > 0)) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      const del = await dist(['delete', solo.digest], { root: r });
      expect(del.code).toBe(6);
      expect(del.stderr).toMatch(/is referenced by lease "lease-/);
      const g = await gc(r, '--grace', '0s');
      expect(g.removed.digests).not.toContain(solo.digest);
      const pr = await p.done;
      expect(pr.code, pr.stderr).toBe(0);
    } finally {
      proxy.options.blobDelayMs = 0;
    }
    expect(await images(r)).toEqual([expect.objectContaining({ name: `${proxy.host}/gc/slow:v1`, missing: 0 })]);
    // The pull's own lease went with it: only the name keeps the image now.
    expect(JSON.parse((await dist(['lease', 'ls', '--json'], { root: r })).stdout.toString())).toEqual([]);
  });
});
