/**
 * Two hosts sharing content through one registry (two store roots standing for two hosts:
 * nothing is shared between them but the registry): host A pulls from upstream and pushes;
 * host B pulls what A pushed, re-tags it and pushes back; A pulls B's tag. Every name points
 * at the same digests on both, every blob is in both stores, and `dist verify` is clean.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { dist, expectOk } from './helpers/cli.js';
import { image, index, layer, type Blob, type Image } from './helpers/image.js';
import { pushImage, pushIndex } from './helpers/push.js';
import { startRegistry, type Registry } from './helpers/registry.js';
import { blobFiles, readIndexJson } from './helpers/store-check.js';

let upstream: Registry;
let shared: Registry;
let tmp: string;
let app: Image;
let amd64: Image;
let arm64: Image;
let multi: Blob & { bytes: Buffer };

beforeAll(async () => {
  [upstream, shared] = await Promise.all([startRegistry(), startRegistry()]);
  tmp = await mkdtemp(join(tmpdir(), 'ck-two-hosts-'));
  const base = await layer([{ name: 'base.bin', size: 4 << 20, seed: 'two-hosts-base' }]);
  app = image([base, await layer([{ name: 'app.bin', size: 5 << 20, seed: 'two-hosts-app' }])], { label: 'app' });
  amd64 = image([base, await layer([{ name: 'amd64.bin', size: 1 << 20, seed: 'two-hosts-amd64' }])], { platform: { os: 'linux', architecture: 'amd64' } });
  arm64 = image([base, await layer([{ name: 'arm64.bin', size: 1 << 20, seed: 'two-hosts-arm64' }])], { platform: { os: 'linux', architecture: 'arm64' } });
  multi = index([amd64, arm64]);
  await pushImage({ host: upstream.host }, 'team/app', '1.0', app);
  await pushIndex({ host: upstream.host }, 'team/multi', '1.0', [amd64, arm64], multi);
});

afterAll(async () => {
  await Promise.all([upstream?.stop(), shared?.stop()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const nameDigest = (root: string, name: string) => readIndexJson(root).manifests.find((m) => m.annotations?.['io.containerd.image.name'] === name)?.digest;

async function verifyClean(root: string): Promise<void> {
  const v = await dist(['verify'], { root });
  expect(v.code).toBe(0);
  expect(v.stderr).toMatch(/: (\d+) ok, 0 problem\(s\)/);
}

test('host A pushes, host B pulls, re-tags and pushes back, host A pulls: same digests, both stores verified', async () => {
  const hostA = await mkdtemp(join(tmp, 'hostA-'));
  const hostB = await mkdtemp(join(tmp, 'hostB-'));
  const at = (repo: string, tag: string) => `${shared.host}/${repo}:${tag}`;

  expectOk(await dist(['pull', '--plain-http', `${upstream.host}/team/app:1.0`], { root: hostA }));
  expectOk(await dist(['pull', '--plain-http', '--all-platforms', `${upstream.host}/team/multi:1.0`], { root: hostA }));
  expectOk(await dist(['push', '--plain-http', `${upstream.host}/team/app:1.0`, at('team/app', '1.0')], { root: hostA }));
  expectOk(await dist(['push', '--plain-http', `${upstream.host}/team/multi:1.0`, at('team/multi', '1.0')], { root: hostA }));

  expectOk(await dist(['pull', '--plain-http', at('team/app', '1.0')], { root: hostB }));
  expectOk(await dist(['pull', '--plain-http', '--all-platforms', at('team/multi', '1.0')], { root: hostB }));
  expect(nameDigest(hostB, at('team/app', '1.0'))).toBe(app.manifest.digest);
  expect(nameDigest(hostB, at('team/multi', '1.0'))).toBe(multi.digest);
  // B promotes what it got: a new tag, nothing to upload (every blob is in the repository).
  const promote = await dist(['push', '--plain-http', '--json', at('team/app', '1.0'), at('team/app', 'stable')], { root: hostB });
  expectOk(promote);
  expect(promote.stdout.toString()).toContain('"sentBytes":0');

  expectOk(await dist(['pull', '--plain-http', at('team/app', 'stable')], { root: hostA }));
  expect(nameDigest(hostA, at('team/app', 'stable'))).toBe(app.manifest.digest);

  const everything = [app, amd64, arm64].flatMap((i) => [i.manifest, i.config, ...i.layers]).map((b) => b.digest).concat(multi.digest);
  for (const root of [hostA, hostB]) {
    expect(blobFiles(root)).toEqual(expect.arrayContaining([...new Set(everything)]));
    await verifyClean(root);
  }
}, 120_000);
