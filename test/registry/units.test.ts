/**
 * Pure pieces of the registry client: reference parsing, WWW-Authenticate parsing,
 * platform choice, Docker config credentials, the OCI twin of a Docker manifest, index.json
 * entry validation.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { parseChallenge } from '../../src/remote/challenge.js';
import { dockerConfigCredentials, parseUser } from '../../src/remote/credentials.js';
import { choosePlatform, parsePlatform } from '../../src/remote/platform.js';
import { formatReference, parseObject, parseReference } from '../../src/remote/reference.js';
import { acceptHeader } from '../../src/remote/media-types.js';
import { ociIndex, ociManifest } from '../../src/oci/convert.js';
import { checkEntries, describeBadEntry } from '../../src/oci/index-entry.js';

const D = `sha256:${'a'.repeat(64)}`;

test('references: host detection, Docker Hub normalisation, tag/digest, rejects', () => {
  expect(parseReference('127.0.0.1:5000/library/busybox:1.36')).toEqual({ host: '127.0.0.1:5000', repository: 'library/busybox', tag: '1.36' });
  expect(parseReference('localhost/x@' + D)).toEqual({ host: 'localhost', repository: 'x', digest: D });
  expect(parseReference('busybox')).toEqual({ host: 'docker.io', repository: 'library/busybox' });
  expect(parseReference('reg.example.com/a/b/c:t@' + D)).toEqual({ host: 'reg.example.com', repository: 'a/b/c', tag: 't', digest: D });
  expect(formatReference(parseReference('127.0.0.1:5000/a/b:t'))).toBe('127.0.0.1:5000/a/b:t');
  for (const bad of ['', 'A/B', '127.0.0.1:5000/../x', 'x/y?z', 'x:bad tag', 'x@sha256:zz', '127.0.0.1:5000/a//b', 'x/y#z']) {
    expect(() => parseReference(bad), bad).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
  }
  expect(parseObject(D)).toEqual({ digest: D });
  expect(parseObject('v1.2')).toEqual({ tag: 'v1.2' });
  expect(() => parseObject('sha256:12')).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
});

test('WWW-Authenticate challenges', () => {
  expect(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')).toEqual({
    scheme: 'bearer',
    params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' },
  });
  expect(parseChallenge('Basic realm="containerkit"')).toEqual({ scheme: 'basic', params: { realm: 'containerkit' } });
  expect(parseChallenge(undefined)).toBeUndefined();
});

test('Accept: hints first, then every manifest and index type', () => {
  const a = acceptHeader(['application/x-hint']).split(', ');
  expect(a[0]).toBe('application/x-hint');
  expect(a).toHaveLength(5);
});

test('platform choice', () => {
  const m = (os: string, architecture: string, variant?: string) => ({ mediaType: 'm', digest: D, size: 1, platform: { os, architecture, ...(variant ? { variant } : {}) } });
  const list = [m('linux', 'arm', 'v6'), m('linux', 'arm', 'v7'), m('linux', 'arm64'), m('linux', 'amd64')];
  expect(choosePlatform(list, parsePlatform('linux/arm/v7'))).toBe(list[1]);
  expect(choosePlatform(list, parsePlatform('linux/arm64/v8'))).toBe(list[2]);
  expect(choosePlatform(list, parsePlatform('linux/x86_64'))).toBe(list[3]);
  expect(choosePlatform(list, parsePlatform('windows/amd64'))).toBeUndefined();
  expect(() => parsePlatform('linux')).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
});

test('credentials: --user and Docker config auths', async () => {
  expect(parseUser('a:b:c')).toEqual({ username: 'a', password: 'b:c' });
  const dir = await mkdtemp(join(tmpdir(), 'ck-cfg-'));
  try {
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ auths: { 'https://reg.example:5000': { auth: Buffer.from('u:p:w').toString('base64') }, other: { username: 'x', password: 'y' } } }));
    expect(dockerConfigCredentials('reg.example:5000', file)).toEqual({ username: 'u', password: 'p:w' });
    expect(dockerConfigCredentials('other', file)).toEqual({ username: 'x', password: 'y' });
    expect(dockerConfigCredentials('nope', file)).toBeUndefined();
    expect(dockerConfigCredentials('nope', join(dir, 'missing.json'))).toBeUndefined();
    // Read with a 1 MiB cap; odd shapes are no credentials, never a crash.
    const big = join(dir, 'big.json');
    await writeFile(big, JSON.stringify({ auths: { other: { username: 'x', password: 'y' } }, pad: 'x'.repeat(1 << 20) }));
    expect(dockerConfigCredentials('other', big)).toBeUndefined();
    const odd = join(dir, 'odd.json');
    await writeFile(odd, JSON.stringify({ auths: { a: null, b: { auth: 42 }, c: { username: 1, password: 2 } } }));
    for (const h of ['a', 'b', 'c']) expect(dockerConfigCredentials(h, odd)).toBeUndefined();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('OCI twin of a Docker manifest keeps every blob digest', () => {
  const docker = {
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: D, size: 3 },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: D, size: 5 }],
  };
  const oci = JSON.parse(ociManifest(Buffer.from(JSON.stringify(docker))).toString());
  expect(oci).toEqual({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D, size: 3 },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D, size: 5 }],
  });
  const list = { schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', manifests: [{ mediaType: 'x', digest: D, size: 9, platform: { os: 'linux', architecture: 'amd64' } }] };
  const twin = `sha256:${'b'.repeat(64)}`;
  expect(JSON.parse(ociIndex(Buffer.from(JSON.stringify(list)), new Map([[D, { digest: twin, size: 4 }]])).toString()).manifests[0]).toEqual({
    mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: twin, size: 4, platform: { os: 'linux', architecture: 'amd64' },
  });
});

test('index.json entries: what is bad, and how a warning names it', () => {
  const M = 'application/vnd.oci.image.manifest.v1+json';
  const named = (extra: Record<string, unknown>) => ({ mediaType: M, digest: D, size: 1, annotations: { 'org.opencontainers.image.ref.name': 'a/b:c' }, ...extra });
  const entries = [
    named({}),
    { mediaType: 'application/vnd.example.artifact+json', digest: D, size: 7 }, // unnamed artifact: fine
    [],
    named({ annotations: { 'org.opencontainers.image.ref.name': 7 } }),
    named({ platform: { os: 'linux' } }),
    named({ size: 2 ** 53 }),
    named({ mediaType: '' }),
    'x'.repeat(500),
  ];
  const { good, bad } = checkEntries(entries);
  expect(good).toEqual([entries[0], entries[1]]);
  expect(bad.map((b) => [b.position, b.why])).toEqual([
    [2, 'not a descriptor object'],
    [3, 'annotations are not a map of strings'],
    [4, 'bad platform {"os":"linux"}'],
    [5, 'bad size 9007199254740992'],
    [6, 'bad media type ""'],
    [7, 'not a descriptor object'],
  ]);
  expect(describeBadEntry(bad[2]!, 'skipped')).toBe(`index.json entry 4 (name "a/b:c", digest "${D}"): skipped (bad platform {"os":"linux"})`);
  expect(bad[5]!.label.length).toBeLessThan(100); // a huge entry is shortened in the warning
});
