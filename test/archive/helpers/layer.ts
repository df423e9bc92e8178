/**
 * Layer tarballs for apply tests, declared entry by entry (tar-stream's packer), in memory:
 * regular files, directories, symlinks, hard links, devices, whiteouts and hostile names.
 * Compressed with node:zlib (gzip) or the zstd command (zstd), like real layers.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';
import { applyLayer, type ApplyOptions, type ApplyResult } from '../../../src/archive/apply.js';

export type Entry = Partial<Header> & { name: string; data?: string | Buffer };

const MTIME = new Date('2024-01-02T03:04:05Z');

export async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  const parts: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    p.on('data', (c: Buffer) => parts.push(c));
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  for (const e of entries) {
    const { data, ...h } = e;
    const type = h.type ?? 'file';
    const header = { mode: type === 'directory' ? 0o755 : 0o644, mtime: MTIME, uid: 0, gid: 0, ...h, type };
    await new Promise<void>((resolve, reject) => {
      if (type === 'file') p.entry(header, data ?? '', (err) => (err ? reject(err) : resolve()));
      else p.entry(header, (err) => (err ? reject(err) : resolve())).end();
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(parts);
}

export function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

export function gzip(b: Buffer): Buffer {
  return gzipSync(b, { level: 1 });
}

export function zstd(b: Buffer): Buffer {
  return execFileSync('zstd', ['-q', '-c', '-3'], { input: b, maxBuffer: 1 << 30 });
}

/** Applies `layer` (bytes) to `dir` in chunks of `chunk` bytes. */
export async function apply(dir: string, layer: Buffer, o: ApplyOptions = {}, chunk = 7919): Promise<ApplyResult> {
  await mkdir(dir, { recursive: true });
  return applyLayer(dir, Readable.from((function* () {
    for (let i = 0; i < layer.length; i += chunk) yield layer.subarray(i, i + chunk);
  })()), o);
}

export async function scratch(tag: string): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `ck-apply-${tag}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
