/**
 * `dist push` against real registries (Debian docker-registry): every test image shape
 * (OCI, Docker schema2, a two-platform index, shared layers, a repeated layer) pushed with
 * the same digests and read back by skopeo and by a second store; blobs the repository has
 * are skipped (HEAD), blobs of a sibling repository mounted (counted through a proxy);
 * the default destination, pushes by digest, and the errors a user can cause.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { dist, expectOk } from './helpers/cli.js';
import { image, imageBytes, index, layer, MT, type Blob, type Image } from './helpers/image.js';
import { startProxy, type Proxy } from './helpers/proxy.js';
import { pushImage, pushIndex } from './helpers/push.js';
import { startRegistry, type Registry } from './helpers/registry.js';
import { hasRemoteBlob, remoteManifest, remoteTags } from './helpers/registry-read.js';
import { readIndexJson, verifyAllBlobs } from './helpers/store-check.js';

let src: Registry;
let dst: Registry;
/** In front of dst: counts upload bytes. */
let proxy: Proxy;
/** In front of src: a store that pulled through it pushes back through it (mount test). */
let srcProxy: Proxy;
let tmp: string;
let rootA: string;
const img: Record<string, Image> = {};
let multi: Blob & { bytes: Buffer };

const shapes = ['oci', 'docker', 'repeated', 'second', 'multi'] as const;
const srcName = (shape: string) => `${src.host}/src/${shape}:v1`;

function jsonLines(out: Buffer): Array<Record<string, unknown>> {
  return out.toString().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

beforeAll(async () => {
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  proxy = await startProxy(dst.host);
  srcProxy = await startProxy(src.host);
  tmp = await mkdtemp(join(tmpdir(), 'ck-push-'));
  const l = (n: string, size = 1 << 20) => layer([{ name: `${n}.bin`, size, seed: n }]);
  const shared = await l('push-shared', 3 << 20);
  img.oci = image([shared, await l('push-oci-1'), await l('push-oci-2', 6 << 20)], { label: 'push-oci' });
  // The same shared bytes, described with Docker's media type (skopeo refuses OCI types in a Docker manifest).
  const sharedDocker = { ...shared, mediaType: MT.dockerLayerGzip };
  img.docker = image([sharedDocker, await layer([{ name: 'push-docker-1.bin', size: 2 << 20, seed: 'push-docker-1' }], 'docker')], { format: 'docker', label: 'push-docker' });
  img.second = image([shared, await l('push-second-1')], { label: 'push-second' });
  const rep = await l('push-repeated');
  img.repeated = image([rep, await l('push-rep-mid'), rep], { label: 'push-repeated' });
  img.amd64 = image([shared, await l('push-amd64-1')], { platform: { os: 'linux', architecture: 'amd64' }, label: 'push-amd64' });
  img.arm64 = image([shared, await l('push-arm64-1')], { platform: { os: 'linux', architecture: 'arm64' }, label: 'push-arm64' });
  img.mount = image([await l('push-mount-1', 5 << 20), await l('push-mount-2')], { label: 'push-mount' });
  img.sibling = image([await l('push-sibling-1', 5 << 20)], { label: 'push-sibling' });
  multi = index([img.amd64, img.arm64]);
  const t = { host: src.host };
  for (const s of ['oci', 'docker', 'repeated', 'second', 'mount', 'sibling']) await pushImage(t, `src/${s}`, 'v1', img[s]!);
  await pushIndex(t, 'src/multi', 'v1', [img.amd64, img.arm64], multi);
  rootA = await mkdtemp(join(tmp, 'hostA-'));
  for (const s of ['oci', 'docker', 'repeated', 'second', 'mount']) expectOk(await dist(['pull', '--plain-http', srcName(s)], { root: rootA }), `pull ${s}`);
  expectOk(await dist(['pull', '--plain-http', '--all-platforms', srcName('multi')], { root: rootA }), 'pull multi');
  expectOk(await dist(['pull', '--plain-http', `${srcProxy.host}/src/sibling:v1`], { root: rootA }), 'pull sibling');
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await srcProxy?.close();
  await Promise.all([src?.stop(), dst?.stop()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  proxy.reset();
  proxy.options = {};
  srcProxy.reset();
});

/** The top document of a shape (its manifest, or the index). */
const topOf = (shape: string) => (shape === 'multi' ? multi : img[shape]!.manifest);
/** Configs and layers (not manifests) of a shape. */
const blobsOf = (shape: string): Blob[] => (shape === 'multi' ? [img.amd64!, img.arm64!] : [img[shape]!]).flatMap((i) => [i.config, ...i.layers]);

describe('push', () => {
  test('every image shape arrives byte for byte: same manifest digests, every blob present, each blob sent once', async () => {
    const sentPerShape: Record<string, number> = {};
    for (const shape of shapes) {
      proxy.reset();
      const r = await dist(['push', '--plain-http', srcName(shape), `${proxy.host}/push/${shape}:v1`], { root: rootA });
      expectOk(r, `push ${shape}`);
      expect(r.stdout.toString()).toContain(`${proxy.host}/push/${shape}:v1: ${topOf(shape).digest}`);
      sentPerShape[shape] = proxy.uploadBytes;
      const served = await remoteManifest(dst.host, `push/${shape}`, 'v1');
      expect(served?.equals(topOf(shape).bytes)).toBe(true);
      for (const b of blobsOf(shape)) expect(await hasRemoteBlob(dst.host, `push/${shape}`, b.digest)).toBe(true);
    }
    // The repeated layer went once; `second` shares a layer with `oci`, pushed just before to
    // a sibling repository: mounted, not sent.
    expect(sentPerShape.oci).toBe(imageBytes(img.oci!) - img.oci!.manifest.size);
    expect(sentPerShape.repeated).toBe(imageBytes(img.repeated!) - img.repeated!.manifest.size);
    expect(sentPerShape.second).toBe(img.second!.config.size + img.second!.layers[1]!.size);
    // The index's children went by digest, with their own blobs.
    for (const child of [img.amd64!, img.arm64!]) {
      expect((await remoteManifest(dst.host, 'push/multi', child.manifest.digest))?.equals(child.manifest.bytes)).toBe(true);
    }
  });

  test('skopeo inspects the pushed images and copies them back with the same digests', async () => {
    for (const shape of shapes) {
      const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${dst.host}/push/${shape}:v1`]);
      expect(raw.equals(topOf(shape).bytes)).toBe(true);
      const layout = join(await mkdtemp(join(tmp, `skopeo-${shape}-`)), 'oci');
      // Docker schema2 becomes OCI in an OCI layout (new manifest and config): only the layers must match.
      const args = ['copy', '-q', '--src-tls-verify=false', ...(shape === 'docker' ? [] : ['--preserve-digests']), ...(shape === 'multi' ? ['--all'] : [])];
      execFileSync('skopeo', [...args, `docker://${dst.host}/push/${shape}:v1`, `oci:${layout}:v1`]);
      const idx = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
      if (shape !== 'docker') expect(idx.manifests.map((m) => m.digest)).toEqual([topOf(shape).digest]);
      const kept = shape === 'docker' ? img.docker!.layers : blobsOf(shape);
      for (const b of kept) expect(readFileSync(join(layout, 'blobs', ...b.digest.split(':'))).length).toBe(b.size);
    }
  });

  test('host B (another store) pulls every pushed image back identical; dist verify is clean on both', async () => {
    const rootB = await mkdtemp(join(tmp, 'hostB-'));
    for (const shape of shapes) {
      const name = `${dst.host}/push/${shape}:v1`;
      expectOk(await dist(['pull', '--plain-http', ...(shape === 'multi' ? ['--all-platforms'] : []), name], { root: rootB }), `pull back ${shape}`);
      // The name's own entry (a Docker image also gets an OCI twin carrying ref.name).
      const entry = readIndexJson(rootB).manifests.find((m) => m.annotations?.['io.containerd.image.name'] === name);
      expect(entry?.digest).toBe(topOf(shape).digest);
      for (const b of blobsOf(shape)) expect(readFileSync(join(rootB, 'blobs', ...b.digest.split(':'))).length).toBe(b.size);
    }
    for (const root of [rootA, rootB]) {
      const v = await dist(['verify'], { root });
      expect(v.code).toBe(0);
      expect(v.stderr).toMatch(/: \d+ ok, 0 problem\(s\)/);
      expect((await verifyAllBlobs(root)).bad).toEqual([]);
    }
  });

  test('a second push of the same image sends nothing: the registry has every blob (HEAD)', async () => {
    const to = `${proxy.host}/push/oci:v1`;
    expectOk(await dist(['push', '--plain-http', srcName('oci'), to], { root: rootA }));
    proxy.reset();
    const r = await dist(['push', '--plain-http', '--json', srcName('oci'), to], { root: rootA });
    expectOk(r);
    expect(proxy.uploadBytes).toBe(0);
    expect(proxy.log.filter((l) => l.method === 'POST')).toEqual([]);
    const done = jsonLines(r.stdout).find((e) => e.event === 'done')!;
    expect(done).toMatchObject({ name: to, digest: img.oci!.manifest.digest, sentBytes: 0, existing: 4, mounted: 0, blobs: 5 });
  });

  test('mount: pushing test/a then the same image as test/b moves no layer bytes', async () => {
    const a = await dist(['push', '--plain-http', srcName('mount'), `${proxy.host}/test/a:v1`], { root: rootA });
    expectOk(a);
    const whole = imageBytes(img.mount!) - img.mount!.manifest.size;
    expect(proxy.uploadBytes).toBe(whole);
    proxy.reset();
    const b = await dist(['push', '--plain-http', '--json', srcName('mount'), `${proxy.host}/test/b:v1`], { root: rootA });
    expectOk(b);
    expect(proxy.uploadBytes).toBe(0);
    const mounts = proxy.log.filter((l) => l.method === 'POST' && l.path.includes('mount='));
    expect(mounts).toHaveLength(3);
    for (const m of mounts) expect(m.path).toContain('from=test%2Fa');
    const events = jsonLines(b.stdout);
    expect(events.filter((e) => e.event === 'blob' && e.state === 'mounted').map((e) => e.digest).sort()).toEqual(
      [img.mount!.config, ...img.mount!.layers].map((x) => x.digest).sort(),
    );
    expect(events.find((e) => e.event === 'done')).toMatchObject({ mounted: 3, sentBytes: 0 });
    for (const x of [img.mount!.config, ...img.mount!.layers]) expect(await hasRemoteBlob(dst.host, 'test/b', x.digest)).toBe(true);
    expect((await remoteManifest(dst.host, 'test/b', 'v1'))?.equals(img.mount!.manifest.bytes)).toBe(true);
  });

  test('an image pulled from a sibling repository of the same registry is mounted from it', async () => {
    const r = await dist(['push', '--plain-http', `${srcProxy.host}/src/sibling:v1`, `${srcProxy.host}/copies/sibling:v2`], { root: rootA });
    expectOk(r);
    expect(r.stdout.toString()).toMatch(/0B uploaded, 2 mounted/);
    expect(srcProxy.uploadBytes).toBe(0);
    expect((await remoteManifest(src.host, 'copies/sibling', 'v2'))?.equals(img.sibling!.manifest.bytes)).toBe(true);
  });

  test('without REMOTE the image goes back where it came from; a REMOTE without tag keeps the tag', async () => {
    const back = await dist(['push', '--plain-http', '--json', srcName('oci')], { root: rootA });
    expectOk(back);
    expect(jsonLines(back.stdout).find((e) => e.event === 'done')).toMatchObject({ name: srcName('oci'), source: srcName('oci'), sentBytes: 0, existing: 4 });
    expectOk(await dist(['push', '--plain-http', srcName('oci'), `${dst.host}/untagged/oci`], { root: rootA }));
    expect(await remoteTags(dst.host, 'untagged/oci')).toEqual(['v1']);
  });

  test('NAME@DIGEST pushes a stored manifest by digest, untagged', async () => {
    const d = img.oci!.manifest.digest;
    const r = await dist(['push', '--plain-http', `${src.host}/src/oci@${d}`, `${dst.host}/bydigest/oci`], { root: rootA });
    expectOk(r);
    expect(r.stdout.toString()).toContain(`${dst.host}/bydigest/oci@${d}: ${d}`);
    expect((await remoteManifest(dst.host, 'bydigest/oci', d))?.equals(img.oci!.manifest.bytes)).toBe(true);
    expect(await remoteTags(dst.host, 'bydigest/oci')).toEqual([]);
  });

  test('errors: an unknown image (3), a REMOTE digest that is not the image (7), a layer missing from the store (3, nothing tagged)', async () => {
    const unknown = await dist(['push', '--plain-http', `${src.host}/src/nope:v1`, `${dst.host}/x/y:v1`], { root: rootA });
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toBe(`dist: image "${src.host}/src/nope:v1" not found (see dist images)\n`);
    const wrong = await dist(['push', '--plain-http', srcName('oci'), `${dst.host}/x/y@${img.docker!.manifest.digest}`], { root: rootA });
    expect(wrong.code).toBe(7);
    expect(wrong.stderr).toContain(`the image is ${img.oci!.manifest.digest}`);

    const rootC = await mkdtemp(join(tmp, 'missing-'));
    expectOk(await dist(['pull', '--plain-http', srcName('oci')], { root: rootC }));
    const gone = img.oci!.layers[1]!.digest;
    expectOk(await dist(['delete', '--force', gone], { root: rootC }));
    const r = await dist(['push', '--plain-http', srcName('oci'), `${dst.host}/missing/oci:v1`], { root: rootC });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`layer ${gone} is not in the store`);
    expect(await remoteManifest(dst.host, 'missing/oci', 'v1')).toBeUndefined();
  });

  test('malformed options are usage errors (exit 2), before anything is pushed', async () => {
    for (const args of [['push', '-j', '0', srcName('oci')], ['copy', '-j', '65', srcName('oci'), `${dst.host}/x/y`], ['push'], ['copy', srcName('oci')]]) {
      const r = await dist(args, { root: rootA });
      expect(r.code, args.join(' ')).toBe(2);
    }
  });

  test('push and copy have --help', async () => {
    for (const cmd of ['push', 'copy']) {
      const r = await dist([cmd, '--help'], { root: rootA });
      expect(r.code).toBe(0);
      expect(r.stdout.toString()).toMatch(new RegExp(`^Usage: dist ${cmd} `));
    }
  });
});
