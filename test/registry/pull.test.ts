/**
 * `dist pull` / `dist images` against a real registry (Debian docker-registry): OCI and
 * Docker schema2 images, a two-platform index, shared and repeated layers, unknown
 * names/tags, concurrent pulls, and the OCI layout read back by skopeo and umoci.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dist, expectOk } from './helpers/cli.js';
import { image, imageBytes, index, layer, type Image } from './helpers/image.js';
import { startProxy, type Proxy } from './helpers/proxy.js';
import { pushImage, pushIndex } from './helpers/push.js';
import { startRegistry, type Registry } from './helpers/registry.js';
import { blobFiles, hasBlob, readIndexJson, refNames, verifyAllBlobs } from './helpers/store-check.js';

let reg: Registry;
let proxy: Proxy;
let tmp: string;
const img: Record<string, Image> = {};
let shared: Awaited<ReturnType<typeof layer>>;

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startProxy(reg.host);
  tmp = await mkdtemp(join(tmpdir(), 'ck-pull-'));
  const t = { host: reg.host };
  shared = await layer([{ name: 'shared/base.bin', size: 3 << 20, seed: 'shared' }]);
  const l = (n: string, size = 1 << 20) => layer([{ name: `${n}.bin`, size, seed: n }]);
  img.oci = image([shared, await l('oci-1'), await l('oci-2')], { label: 'oci' });
  img.docker = image([shared, await l('docker-1', 2 << 20)], { format: 'docker', label: 'docker' });
  img.second = image([shared, await l('second-1')], { label: 'second' });
  const rep = await l('repeated');
  img.repeated = image([rep, await l('rep-mid'), rep], { label: 'repeated' });
  img.amd64 = image([shared, await l('amd64-1')], { platform: { os: 'linux', architecture: 'amd64' }, label: 'amd64' });
  img.arm64 = image([shared, await l('arm64-1')], { platform: { os: 'linux', architecture: 'arm64' }, label: 'arm64' });
  await pushImage(t, 'test/oci', 'v1', img.oci!);
  await pushImage(t, 'test/docker', 'v1', img.docker!);
  await pushImage(t, 'test/second', 'v1', img.second!);
  await pushImage(t, 'test/repeated', 'v1', img.repeated!);
  await pushIndex(t, 'test/multi', 'v1', [img.amd64!, img.arm64!], index([img.amd64!, img.arm64!]));
});

afterAll(async () => {
  await proxy?.close();
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function freshRoot(name: string): Promise<string> {
  return mkdtemp(join(tmp, `${name}-`));
}

function blobGets(p: Proxy): string[] {
  return p.log.filter((r) => r.method === 'GET' && r.path.includes('/blobs/')).map((r) => r.path.split('/blobs/')[1]!);
}

describe('pull', () => {
  test('OCI image: every blob committed, verified, named in index.json', async () => {
    const root = await freshRoot('oci');
    const name = `${reg.host}/test/oci:v1`;
    const r = await dist(['pull', '--plain-http', name], { root });
    expectOk(r);
    const out = r.stdout.toString();
    expect(out).toContain(`${name}: ${img.oci!.manifest.digest}`);
    expect(out).toMatch(/elapsed: .* total: .* rate: /);
    for (const b of [img.oci!.manifest, img.oci!.config, ...img.oci!.layers]) expect(hasBlob(root, b.digest)).toBe(true);
    expect(await verifyAllBlobs(root)).toEqual({ count: 5, bad: [] });
    expect(refNames(root)).toEqual({ [name]: img.oci!.manifest.digest });
    const images = JSON.parse((await dist(['images', '--json'], { root })).stdout.toString());
    expect(images).toEqual([
      expect.objectContaining({ name, digest: img.oci!.manifest.digest, manifestSize: img.oci!.manifest.size, size: imageBytes(img.oci!), missing: 0 }),
    ]);
    const table = (await dist(['images'], { root })).stdout.toString();
    expect(table).toContain(name);
    expect(table).toContain(img.oci!.manifest.digest);
  });

  test('skopeo inspect and umoci stat read the store root as an OCI layout', async () => {
    const root = await freshRoot('skopeo');
    const name = `${reg.host}/test/oci:v1`;
    expectOk(await dist(['pull', '--plain-http', name], { root }));
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${root}:${name}`], { encoding: 'utf8' }));
    expect(inspect.Digest).toBe(img.oci!.manifest.digest);
    expect(inspect.Labels).toEqual({ 'test.label': 'oci' });
    expect(inspect.Layers).toEqual(img.oci!.layers.map((l) => l.digest));
    const stat = execFileSync('umoci', ['stat', '--image', `${root}:${name}`], { encoding: 'utf8' });
    for (const l of img.oci!.layers) expect(stat).toContain(l.digest);
  });

  test('Docker schema2 image', async () => {
    const root = await freshRoot('docker');
    const name = `${reg.host}/test/docker:v1`;
    const r = await dist(['pull', '--plain-http', '--json', name], { root });
    expectOk(r);
    const events = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ event: 'resolved', name, digest: img.docker!.manifest.digest, mediaType: 'application/vnd.docker.distribution.manifest.v2+json' });
    const done = events.at(-1);
    expect(done).toMatchObject({ event: 'done', name, digest: img.docker!.manifest.digest, totalBytes: imageBytes(img.docker!) });
    const states = new Set(events.filter((e) => e.event === 'blob').map((e: { ref: string; state: string }) => `${e.ref} ${e.state}`));
    expect(states).toContain(`config-${img.docker!.config.digest} done`);
    for (const l of img.docker!.layers) expect(states).toContain(`layer-${l.digest} done`);
    expect(states).toContain(`manifest-${img.docker!.manifest.digest} done`);
    expect(await verifyAllBlobs(root)).toMatchObject({ count: 5, bad: [] }); // + the OCI twin
    // The name keeps the registry's digest; OCI tools read it through its OCI twin.
    expect(JSON.parse((await dist(['images', '--json'], { root })).stdout.toString())).toEqual([
      expect.objectContaining({ name, digest: img.docker!.manifest.digest, size: imageBytes(img.docker!), missing: 0 }),
    ]);
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${root}:${name}`], { encoding: 'utf8' }));
    expect(inspect.Layers).toEqual(img.docker!.layers.map((l) => l.digest));
    expect(inspect.Labels).toEqual({ 'test.label': 'docker' });
    execFileSync('umoci', ['stat', '--image', `${root}:${name}`], { encoding: 'utf8' });
  });

  test('index: the host platform by default, --platform picks another, --all-platforms takes both', async () => {
    const name = `${reg.host}/test/multi:v1`;
    const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64';
    const other = hostArch === 'amd64' ? 'arm64' : 'amd64';
    const def = await freshRoot('multi-default');
    expectOk(await dist(['pull', '--plain-http', name], { root: def }));
    const idx = readIndexJson(def).manifests;
    expect(idx).toHaveLength(1);
    expect(idx[0]).toMatchObject({ digest: img[hostArch]!.manifest.digest, platform: { os: 'linux', architecture: hostArch } });
    expect(hasBlob(def, img[other]!.layers[1]!.digest)).toBe(false);

    const picked = await freshRoot('multi-platform');
    expectOk(await dist(['pull', '--plain-http', '--platform', `linux/${other}`, name], { root: picked }));
    expect(refNames(picked)[name]).toBe(img[other]!.manifest.digest);
    expect(hasBlob(picked, img[other]!.layers[1]!.digest)).toBe(true);
    expect(hasBlob(picked, img[hostArch]!.layers[1]!.digest)).toBe(false);

    const all = await freshRoot('multi-all');
    expectOk(await dist(['pull', '--plain-http', '--all-platforms', name], { root: all }));
    const indexDigest = index([img.amd64!, img.arm64!]).digest;
    expect(refNames(all)[name]).toBe(indexDigest);
    for (const i of [img.amd64!, img.arm64!]) for (const b of [i.manifest, i.config, ...i.layers]) expect(hasBlob(all, b.digest)).toBe(true);
    expect(hasBlob(all, indexDigest)).toBe(true);
    // skopeo reports the index digest and reads the host platform's image through it.
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${all}:${name}`], { encoding: 'utf8' }));
    expect(inspect.Digest).toBe(indexDigest);
    expect(inspect.Layers).toEqual(img[hostArch]!.layers.map((l) => l.digest));

    const none = await dist(['pull', '--plain-http', '--platform', 'windows/amd64', name], { root: await freshRoot('multi-none') });
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/no manifest for platform windows\/amd64 \(available: linux\/amd64, linux\/arm64\)/);
  });

  test('two images sharing a layer: the second pull skips it without downloading', async () => {
    const root = await freshRoot('shared');
    proxy.reset();
    expectOk(await dist(['pull', '--plain-http', `${proxy.host}/test/oci:v1`], { root }));
    expect(blobGets(proxy)).toContain(shared.digest);
    proxy.reset();
    const r = await dist(['pull', '--plain-http', '--json', `${proxy.host}/test/second:v1`], { root });
    expectOk(r);
    expect(blobGets(proxy).sort()).toEqual([img.second!.config.digest, img.second!.layers[1]!.digest].sort());
    const events = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
    expect(events).toContainEqual(expect.objectContaining({ event: 'blob', ref: `layer-${shared.digest}`, state: 'exists' }));
    // Pulling again moves no blob at all.
    proxy.reset();
    expectOk(await dist(['pull', '--plain-http', `${proxy.host}/test/second:v1`], { root }));
    expect(blobGets(proxy)).toEqual([]);
    expect(Object.keys(refNames(root)).sort()).toEqual([`${proxy.host}/test/oci:v1`, `${proxy.host}/test/second:v1`]);
  });

  test('a layer repeated in one manifest is fetched once', async () => {
    const root = await freshRoot('repeated');
    proxy.reset();
    expectOk(await dist(['pull', '--plain-http', `${proxy.host}/test/repeated:v1`], { root }));
    const gets = blobGets(proxy);
    expect(gets.filter((d) => d === img.repeated!.layers[0]!.digest)).toHaveLength(1);
    expect(gets).toHaveLength(3); // config + 2 distinct layers
    expect(await verifyAllBlobs(root)).toMatchObject({ count: 4, bad: [] });
  });

  test('pull by digest records NAME@DIGEST', async () => {
    const root = await freshRoot('bydigest');
    const name = `${reg.host}/test/oci@${img.oci!.manifest.digest}`;
    expectOk(await dist(['pull', '--plain-http', name], { root }));
    expect(refNames(root)).toEqual({ [name]: img.oci!.manifest.digest });
  });

  test('unknown name, unknown tag, unknown digest: NotFound (exit 3), nothing recorded', async () => {
    const root = await freshRoot('unknown');
    const missing = `sha256:${'0'.repeat(64)}`;
    for (const name of [`${reg.host}/test/nope:v1`, `${reg.host}/test/oci:nope`, `${reg.host}/test/oci@${missing}`]) {
      const r = await dist(['pull', '--plain-http', name], { root });
      expect(r.code, name).toBe(3);
      expect(r.stderr).toMatch(/^dist: manifest .*: not found/);
    }
    expect(blobFiles(root)).toEqual([]);
    expect(JSON.parse((await dist(['images', '--json'], { root })).stdout.toString())).toEqual([]);
    const bad = await dist(['pull', '--plain-http', 'UPPER/../x'], { root });
    expect(bad.code).toBe(7);
  });

  test('concurrent pulls of one image download each blob once', async () => {
    const root = await freshRoot('same');
    proxy.reset();
    const name = `${proxy.host}/test/oci:v1`;
    const [a, b] = await Promise.all([dist(['pull', '--plain-http', name], { root }), dist(['pull', '--plain-http', name], { root })]);
    expectOk(a);
    expectOk(b);
    const gets = blobGets(proxy);
    expect(gets.sort()).toEqual([...new Set([img.oci!.config.digest, ...img.oci!.layers.map((l) => l.digest)])].sort());
    expect(await verifyAllBlobs(root)).toMatchObject({ count: 5, bad: [] });
  });

  test('concurrent pulls of different names all end up in index.json', async () => {
    const root = await freshRoot('names');
    const names = ['oci', 'docker', 'second', 'repeated'].map((n) => `${reg.host}/test/${n}:v1`);
    const extra = [`${reg.host}/test/multi:v1`];
    const runs = await Promise.all([...names, ...extra].map((n) => dist(['pull', '--plain-http', n], { root })));
    expect(runs.map((r) => r.code)).toEqual(runs.map(() => 0));
    expect(Object.keys(refNames(root)).sort()).toEqual([...names, ...extra].sort());
    const listed = JSON.parse((await dist(['images', '--json'], { root })).stdout.toString()) as Array<{ name: string }>;
    expect(listed.map((i) => i.name).sort()).toEqual([...names, ...extra].sort());
  });
});
