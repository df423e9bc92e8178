/**
 * Generated tarballs for test images: ustar archives of files filled with a repeated
 * pseudo-random block (AES-CTR of zeros: fast, incompressible, different per seed). Files
 * of any size stream out in 1 MiB chunks; nothing is held in memory but the block.
 */
import { createCipheriv, createHash } from 'node:crypto';

export interface TarFile {
  name: string;
  size: number;
  /** Different seeds give different bytes (and so different layer digests). */
  seed: string;
}

const BLOCK = 1 << 20;

export function prngBlock(seed: string, size = BLOCK): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const c = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([c.update(Buffer.alloc(size)), c.final()]);
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 99), 0, 'utf8');
  h.write(octal(0o644, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(1_700_000_000, 12), 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148);
  return h;
}

const pad = (n: number) => (512 - (n % 512)) % 512;

export function tarSize(files: readonly TarFile[]): number {
  return files.reduce((t, f) => t + 512 + f.size + pad(f.size), 0) + 1024;
}

export async function* tarChunks(files: readonly TarFile[]): AsyncGenerator<Buffer> {
  for (const f of files) {
    yield header(f.name, f.size);
    const block = prngBlock(f.seed);
    for (let left = f.size; left > 0; left -= block.length) yield left >= block.length ? block : block.subarray(0, left);
    if (pad(f.size)) yield Buffer.alloc(pad(f.size));
  }
  yield Buffer.alloc(1024);
}
