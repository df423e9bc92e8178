/**
 * Pushes test images through the registry's own upload API (POST → PATCH stream → PUT
 * ?digest=, then PUT manifest), the way a real client does, so the registry validates
 * everything it later serves.
 */
import http from 'node:http';
import https from 'node:https';
import type { Blob, Image } from './image.js';

export interface PushTarget {
  /** `127.0.0.1:PORT` */
  host: string;
  /** Extra headers (Authorization) for a repository, e.g. a push token. */
  headers?: (repository: string) => Record<string, string> | Promise<Record<string, string>>;
  /** HTTPS registry: the CA (PEM) to trust. */
  ca?: Buffer;
}

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

function call(method: string, url: URL, headers: Record<string, string>, body?: Buffer | AsyncIterable<Buffer>, ca?: Buffer): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(url, { method, headers, ...(ca ? { ca } : {}) }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (!body) return void req.end();
    if (Buffer.isBuffer(body)) return void req.end(body);
    (async () => {
      for await (const c of body) if (!req.write(c)) await new Promise((r) => req.once('drain', r));
      req.end();
    })().catch((e) => req.destroy(e));
  });
}

async function auth(t: PushTarget, repo: string) {
  return (await t.headers?.(repo)) ?? {};
}

function expect(res: Res, want: number, what: string): void {
  if (res.status !== want) throw new Error(`${what}: HTTP ${res.status} (want ${want}): ${res.text.slice(0, 300)}`);
}

const baseOf = (t: PushTarget) => new URL(`${t.ca ? 'https' : 'http'}://${t.host}`);

export async function pushBlob(t: PushTarget, repo: string, blob: Blob): Promise<void> {
  const base = baseOf(t);
  const h = await auth(t, repo);
  const head = await call('HEAD', new URL(`/v2/${repo}/blobs/${blob.digest}`, base), h, undefined, t.ca);
  if (head.status === 200) return;
  const start = await call('POST', new URL(`/v2/${repo}/blobs/uploads/`, base), { ...h, 'content-length': '0' }, undefined, t.ca);
  expect(start, 202, `start upload ${blob.digest}`);
  const patch = await call('PATCH', new URL(start.headers.location!, base), { ...h, 'content-type': 'application/octet-stream' }, blob.chunks(), t.ca);
  expect(patch, 202, `upload ${blob.digest}`);
  const done = new URL(patch.headers.location!, base);
  done.searchParams.set('digest', blob.digest);
  const put = await call('PUT', done, { ...h, 'content-length': '0' }, undefined, t.ca);
  expect(put, 201, `commit ${blob.digest}`);
}

export async function pushManifest(t: PushTarget, repo: string, reference: string, mediaType: string, bytes: Buffer): Promise<void> {
  const res = await call('PUT', new URL(`/v2/${repo}/manifests/${reference}`, baseOf(t)), {
    ...(await auth(t, repo)),
    'content-type': mediaType,
    'content-length': String(bytes.length),
  }, bytes, t.ca);
  expect(res, 201, `manifest ${repo}:${reference}`);
}

/** Pushes blobs (each distinct digest once), then the manifest under `tag` (or only by digest). */
export async function pushImage(t: PushTarget, repo: string, tag: string | undefined, img: Image): Promise<void> {
  const seen = new Set<string>();
  for (const b of [img.config, ...img.layers]) {
    if (seen.has(b.digest)) continue;
    seen.add(b.digest);
    await pushBlob(t, repo, b);
  }
  await pushManifest(t, repo, tag ?? img.manifest.digest, img.manifest.mediaType, img.manifest.bytes);
}

export async function pushIndex(t: PushTarget, repo: string, tag: string, images: Image[], idx: Blob & { bytes: Buffer }): Promise<void> {
  for (const img of images) await pushImage(t, repo, undefined, img);
  await pushManifest(t, repo, tag, idx.mediaType, idx.bytes);
}
