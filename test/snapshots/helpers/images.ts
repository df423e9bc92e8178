/**
 * Images for the unpack/bundle tests, built from declared tar entries (test/archive
 * helpers) in the shapes of test/registry/helpers/image.ts: a rootfs image whose later
 * layers delete and re-create files (whiteouts, an opaque directory, a file turned into a
 * directory, hard links across layers), an image whose config lies about a diffID, and a
 * runnable image made of the host's /bin/sh and the libraries it needs.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { bytesBlob, MT, type Blob, type Image } from '../../registry/helpers/image.js';
import { gzip, sha256, tarOf, zstd, type Entry } from '../../archive/helpers/layer.js';

export type Compression = 'gzip' | 'zstd' | 'none';

export async function layerOf(entries: Entry[], compression: Compression = 'gzip'): Promise<Blob> {
  const tar = await tarOf(entries);
  const bytes = compression === 'gzip' ? gzip(tar) : compression === 'zstd' ? zstd(tar) : tar;
  const mediaType = compression === 'gzip' ? MT.ociLayerGzip : compression === 'zstd' ? 'application/vnd.oci.image.layer.v1.tar+zstd' : MT.ociLayer;
  return { ...bytesBlob(mediaType, bytes), diffId: sha256(tar) };
}

export interface RuntimeConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
}

/** An OCI image (linux/amd64) with a runtime config; `diffIds` overrides the true ones. */
export function ociImage(layers: Blob[], config: RuntimeConfig = {}, diffIds?: string[]): Image {
  const cfg = bytesBlob(MT.ociConfig, Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    created: '2024-01-01T00:00:00Z',
    config: { ...config, Labels: { 'test.label': 'snapshots' } },
    rootfs: { type: 'layers', diff_ids: diffIds ?? layers.map((l) => l.diffId ?? l.digest) },
  })));
  const manifest = bytesBlob(MT.ociManifest, Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: cfg.mediaType, digest: cfg.digest, size: cfg.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  })));
  return { format: 'oci', config: cfg, layers, manifest, platform: { os: 'linux', architecture: 'amd64' } };
}

const T = new Date('2024-05-01T00:00:00Z');

/** Base layer: a small root file system with every entry type umoci and dist both handle. */
export function baseEntries(): Entry[] {
  return [
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', data: 'busybox binary\n', mode: 0o755 },
    { name: 'bin/sh', type: 'link', linkname: 'bin/busybox' },
    { name: 'bin/ls', type: 'symlink', linkname: 'busybox' },
    { name: 'etc/', type: 'directory' },
    { name: 'etc/hosts', data: '127.0.0.1 localhost\n' },
    { name: 'etc/old.conf', data: 'to be deleted\n' },
    { name: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:2345:app:/home/app:/bin/sh\n' },
    { name: 'etc/group', data: 'root:x:0:\napp:x:2345:\nwheel:x:10:app\n' },
    { name: 'etc/shadow', data: 'root:*:1::::::\n', mode: 0o600 },
    { name: 'usr/', type: 'directory' },
    { name: 'usr/lib/', type: 'directory' },
    { name: 'usr/lib/libc.so', data: 'libc\n', mode: 0o755 },
    { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
    { name: 'var/', type: 'directory' },
    { name: 'var/cache/', type: 'directory' },
    { name: 'var/cache/a', data: 'cached a\n' },
    { name: 'var/cache/sub/', type: 'directory' },
    { name: 'var/cache/sub/b', data: 'cached b\n' },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
    { name: 'root/', type: 'directory', mode: 0o700 },
    { name: 'usr/bin/', type: 'directory' },
    { name: 'usr/bin/passwd', data: 'setuid\n', mode: 0o4755 },
    { name: 'empty', data: '' },
    { name: 'becomes-dir', data: 'file for now\n' },
  ].map((e) => ({ mtime: T, ...e })) as Entry[];
}

/** Second layer: deletes and re-creates files, empties a directory, turns a file into a directory. */
export function churnEntries(): Entry[] {
  return [
    { name: 'etc/', type: 'directory' },
    { name: 'etc/.wh.old.conf' },
    { name: 'etc/.wh.hosts' },
    { name: 'etc/hosts', data: '10.0.0.1 re-created\n', mode: 0o640 },
    { name: 'var/cache/', type: 'directory' },
    { name: 'var/cache/.wh..wh..opq' },
    { name: 'var/cache/fresh', data: 'fresh\n' },
    { name: '.wh.becomes-dir' },
    { name: 'becomes-dir/', type: 'directory', mode: 0o750 },
    { name: 'becomes-dir/inside', data: 'inside\n' },
    { name: 'usr/lib/libc.so.6', type: 'link', linkname: 'usr/lib/libc.so' },
    { name: 'bin/.wh.ls' },
    { name: 'bin/ls', type: 'symlink', linkname: '/bin/busybox' },
  ].map((e) => ({ mtime: T, ...e })) as Entry[];
}

/** Third layer (uncompressed): data in a lower symlinked directory and a big-ish file. */
export function topEntries(): Entry[] {
  const blob = Buffer.alloc(1 << 20);
  for (let i = 0; i < blob.length; i += 4) blob.writeUInt32LE((i * 2246822519) >>> 0, i);
  return [
    { name: 'usr/lib/plugin.so', data: 'plugin\n' },
    { name: 'opt/', type: 'directory' },
    { name: 'opt/data.bin', data: blob },
    { name: 'home/', type: 'directory' },
    { name: 'home/app/', type: 'directory', uid: 1234, gid: 2345 },
  ].map((e) => ({ mtime: T, ...e })) as Entry[];
}

/** The host's /bin/sh plus every shared library ldd lists for it: a rootfs runc can run. */
export function hostShellEntries(): Entry[] {
  const files = ['/bin/sh', ...execFileSync('ldd', ['/bin/sh'], { encoding: 'utf8' }).match(/\/[^\s)]+/g)!];
  const out: Entry[] = [];
  const dirs = new Set<string>();
  for (const f of new Set(files)) {
    const parts = f.slice(1).split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/') + '/';
      if (!dirs.has(d)) {
        dirs.add(d);
        out.push({ name: d, type: 'directory' });
      }
    }
    const real = realpathSync(f);
    out.push({ name: f.slice(1), data: readFileSync(real), mode: statSync(real).mode & 0o777 });
  }
  out.push({ name: 'work/', type: 'directory' }, { name: 'etc/passwd', data: 'root:x:0:0::/:/bin/sh\nrunner:x:4321:4322::/work:/bin/sh\n' });
  return out;
}
