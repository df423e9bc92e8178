/**
 * Reads a registry directly (anonymous, plain HTTP), for assertions on what a push left
 * there: does a repository have a blob, what bytes a manifest reference serves, its tags.
 */
import http from 'node:http';
import { MT } from './image.js';

function call(method: string, url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export async function hasRemoteBlob(host: string, repo: string, digest: string): Promise<boolean> {
  const r = await call('HEAD', `http://${host}/v2/${repo}/blobs/${digest}`);
  if (r.status !== 200 && r.status !== 404) throw new Error(`HEAD blob ${repo}@${digest}: HTTP ${r.status}`);
  return r.status === 200;
}

/** The manifest bytes a tag or digest serves, or undefined (404). */
export async function remoteManifest(host: string, repo: string, ref: string): Promise<Buffer | undefined> {
  const accept = [MT.ociManifest, MT.ociIndex, MT.dockerManifest, MT.dockerList].join(', ');
  const r = await call('GET', `http://${host}/v2/${repo}/manifests/${ref}`, { accept });
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`GET manifest ${repo}:${ref}: HTTP ${r.status}: ${r.body.toString().slice(0, 200)}`);
  return r.body;
}

export async function remoteTags(host: string, repo: string): Promise<string[]> {
  const r = await call('GET', `http://${host}/v2/${repo}/tags/list`);
  if (r.status === 404) return [];
  return ((JSON.parse(r.body.toString()) as { tags?: string[] | null }).tags ?? []).sort();
}
