/**
 * The uncompressed tar stream of a layer, whatever it was compressed with: gzip (node:zlib,
 * which inflates on libuv's thread pool), zstd (fzstd, streaming) or none, told apart by
 * the first bytes (media types lie; magic numbers do not). Corrupt compressed data surfaces
 * as an error on the returned stream.
 */
import { pipeline, Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { invalidArgument } from '../errors.js';

export type Compression = 'none' | 'gzip' | 'zstd';

const GZIP = Buffer.from([0x1f, 0x8b]);
const ZSTD = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
// Other formats a layer might arrive in by mistake: named in the error instead of a tar parse failure.
const OTHER: Array<[Buffer, string]> = [
  [Buffer.from('BZh'), 'bzip2'],
  [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), 'xz'],
];

export function sniff(head: Buffer): Compression {
  if (head.subarray(0, 2).equals(GZIP)) return 'gzip';
  if (head.subarray(0, 4).equals(ZSTD)) return 'zstd';
  for (const [magic, name] of OTHER) {
    if (head.length >= magic.length && head.subarray(0, magic.length).equals(magic)) {
      throw invalidArgument('ERR_UNSUPPORTED_COMPRESSION', `layer is ${name}-compressed: only tar, gzip and zstd layers are supported`, { actual: name });
    }
  }
  return 'none';
}

function zstdStream(): Transform {
  let d: Decompress;
  return new Transform({
    construct(cb) {
      d = new Decompress((chunk) => {
        if (chunk.length) this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      });
      cb();
    },
    transform(chunk: Buffer, _enc, cb) {
      try {
        d.push(chunk);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    flush(cb) {
      try {
        d.push(new Uint8Array(0), true);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}

/** Reads until at least `n` bytes (or the end) are buffered; returns them and the rest. */
async function peek(source: AsyncIterable<Buffer>, n: number): Promise<{ head: Buffer; rest: AsyncIterator<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let have = 0;
  while (have < n) {
    const r = await it.next();
    if (r.done) break;
    parts.push(r.value);
    have += r.value.length;
  }
  return { head: Buffer.concat(parts), rest: it };
}

export interface Decompressed {
  compression: Compression;
  /** The uncompressed bytes. */
  tar: Readable;
}

/** Sniffs `source` and returns its uncompressed bytes as a stream. */
export async function decompress(source: AsyncIterable<Buffer>): Promise<Decompressed> {
  const { head, rest } = await peek(source, 6);
  const compression = sniff(head);
  const input = Readable.from(
    (async function* () {
      if (head.length) yield head;
      for (;;) {
        const r = await rest.next();
        if (r.done) return;
        yield r.value;
      }
    })(),
    { objectMode: false, highWaterMark: 1 << 20 },
  );
  if (compression === 'none') return { compression, tar: input };
  const inflate = compression === 'gzip' ? createGunzip({ chunkSize: 256 << 10 }) : zstdStream();
  // Errors reach the reader of `tar` (the applier names them DataLoss); nothing to do here.
  const tar = pipeline(input, inflate, () => {});
  return { compression, tar };
}
