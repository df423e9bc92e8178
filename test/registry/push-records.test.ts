/**
 * The upload records under `<root>/uploads/` are read as untrusted input (README: Trust
 * model): a symlink planted where a record belongs is not followed (and is replaced, not
 * written through), a record naming an upload URL on another origin is never contacted, an
 * oversized record or a FIFO costs one bounded read and is ignored, and an `uploads`
 * directory that is a symlink is refused. A push stays correct through all of them.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { dist, expectOk } from './helpers/cli.js';
import { image, layer, type Image } from './helpers/image.js';
import { pushImage } from './helpers/push.js';
import { startRegistry, type Registry } from './helpers/registry.js';
import { remoteManifest } from './helpers/registry-read.js';

let src: Registry;
let dst: Registry;
let tmp: string;
let img: Image;
let name: string;

beforeAll(async () => {
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  tmp = await mkdtemp(join(tmpdir(), 'ck-push-records-'));
  img = image([await layer([{ name: 'r.bin', size: 6 << 20, seed: 'push-records' }])]);
  await pushImage({ host: src.host }, 'rec/img', 'v1', img);
  name = `${src.host}/rec/img:v1`;
});

afterAll(async () => {
  await Promise.all([src?.stop(), dst?.stop()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function storeWithImage(tag: string): Promise<string> {
  const root = await mkdtemp(join(tmp, `${tag}-`));
  expectOk(await dist(['pull', '--plain-http', name], { root }));
  return root;
}

/** Where the record of (host, digest) lives: uploads/<sha256(host \n digest)>. */
function recordPath(root: string, host: string, digest: string): string {
  return join(root, 'uploads', createHash('sha256').update(`${host}\n${digest}`).digest('hex'));
}

test('a symlink planted where a record belongs is neither followed nor written through', async () => {
  const root = await storeWithImage('symlink');
  // The planted record says the blob is in elsewhere/repo — true, so a mount would work if it were believed.
  await pushImage({ host: dst.host }, 'elsewhere/repo', 'v1', img);
  const outside = join(tmp, 'outside.json');
  const layerDigest = img.layers[0]!.digest;
  writeFileSync(outside, JSON.stringify({ v: 1, host: dst.host, digest: layerDigest, repositories: ['elsewhere/repo'], session: { repository: 'rec/img', url: `http://${dst.host}/v2/rec/img/blobs/uploads/x`, offset: 5, updatedAt: 'x' } }));
  mkdirSync(join(root, 'uploads'), { recursive: true });
  const rec = recordPath(root, dst.host, layerDigest);
  symlinkSync(outside, rec);
  const before = readFileSync(outside);
  const r = await dist(['push', '--plain-http', '--json', name, `${dst.host}/rec/img:v1`], { root });
  expectOk(r);
  // Its contents were not used (no mount from elsewhere/repo, no resume at 5) …
  expect(r.stdout.toString()).not.toContain('"state":"mounted"');
  expect(r.stdout.toString()).toContain('"sentBytes":');
  // … and the record written afterwards replaced the link instead of writing through it.
  expect(readFileSync(outside).equals(before)).toBe(true);
  expect(lstatSync(rec).isFile()).toBe(true);
  expect(JSON.parse(readFileSync(rec, 'utf8'))).toMatchObject({ host: dst.host, digest: layerDigest, repositories: ['rec/img'] });
  expect((await remoteManifest(dst.host, 'rec/img', 'v1'))?.equals(img.manifest.bytes)).toBe(true);
});

test('a recorded upload URL on another origin is never contacted', async () => {
  const root = await storeWithImage('origin');
  let hits = 0;
  const trap = http.createServer((req, res) => {
    hits++;
    res.writeHead(204, { range: '0-1048575', location: req.url ?? '/' });
    res.end();
  });
  await new Promise<void>((r) => trap.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (trap.address() as AddressInfo).port;
    const layerDigest = img.layers[0]!.digest;
    mkdirSync(join(root, 'uploads'), { recursive: true });
    writeFileSync(recordPath(root, dst.host, layerDigest), JSON.stringify({
      v: 1, host: dst.host, digest: layerDigest, repositories: [],
      session: { repository: 'rec/origin', url: `http://127.0.0.1:${port}/v2/rec/origin/blobs/uploads/stolen`, offset: 1 << 20, updatedAt: new Date().toISOString() },
    }));
    const r = await dist(['push', '--plain-http', name, `${dst.host}/rec/origin:v1`], { root });
    expectOk(r);
    expect(hits).toBe(0);
    expect((await remoteManifest(dst.host, 'rec/origin', 'v1'))?.equals(img.manifest.bytes)).toBe(true);
  } finally {
    await new Promise<void>((r) => trap.close(() => r()));
  }
});

test('an oversized record and a FIFO are ignored (one bounded read, never blocking)', async () => {
  const root = await storeWithImage('big-fifo');
  mkdirSync(join(root, 'uploads'), { recursive: true });
  writeFileSync(recordPath(root, dst.host, img.layers[0]!.digest), Buffer.alloc(8 << 20, 0x20));
  execFileSync('mkfifo', [recordPath(root, dst.host, img.config.digest)]);
  const r = await dist(['push', '--plain-http', name, `${dst.host}/rec/fifo:v1`], { root });
  expectOk(r);
  expect((await remoteManifest(dst.host, 'rec/fifo', 'v1'))?.equals(img.manifest.bytes)).toBe(true);
});

test('an uploads directory that is a symlink is refused (exit 6)', async () => {
  const root = await storeWithImage('dir-link');
  const elsewhere = await mkdtemp(join(tmp, 'elsewhere-'));
  symlinkSync(elsewhere, join(root, 'uploads'));
  const r = await dist(['push', '--plain-http', name, `${dst.host}/rec/dirlink:v1`], { root });
  expect(r.code).toBe(6);
  expect(r.stderr).toBe(`dist: refusing to use ${join(root, 'uploads')}: it is a symbolic link (see README: Trust model)\n`);
});
