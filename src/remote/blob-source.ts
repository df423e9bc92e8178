/**
 * A committed blob read from the store for an upload, verified as it goes: every byte that
 * leaves is hashed (node:crypto, OpenSSL), and the hash at any offset can be carried
 * forward (`HashAt`) so a segment sent twice (an auth round, a retry) or continued in a
 * later run hashes each byte exactly once in order. Only sha256 and sha512 are pushed:
 * registries speak nothing else (and OpenSSL has no BLAKE3).
 */
import { createHash, type Hash } from 'node:crypto';
import type { ReaderAt, Store } from '../content/types.js';
import { parseDigest } from '../digest.js';
import { dataLoss, invalidArgument, isKind, notFound } from '../errors.js';
import type { Descriptor } from './descriptor.js';

/** Read size: large enough for few syscalls, small enough to keep a little in flight. */
export const READ_CHUNK = 1 << 20;

export interface HashAt {
  /** Bytes hashed so far (the blob's prefix [0, position)). */
  position: number;
  hash: Hash;
}

export class BlobSource {
  private constructor(
    readonly d: Descriptor,
    private readonly reader: ReaderAt,
    private readonly algorithm: 'sha256' | 'sha512',
    private readonly hex: string,
  ) {}

  /** Opens the blob; its size must be the descriptor's (DataLoss otherwise, before anything is sent). */
  static async open(store: Store, d: Descriptor, what: string): Promise<BlobSource> {
    const { algorithm, hex } = parseDigest(d.digest);
    if (algorithm !== 'sha256' && algorithm !== 'sha512') {
      throw invalidArgument('ERR_UNSUPPORTED_DIGEST', `${what} ${d.digest}: registries accept sha256 and sha512 blobs only`, { digest: d.digest });
    }
    let reader: ReaderAt;
    try {
      reader = await store.readerAt(d.digest);
    } catch (err) {
      if (isKind(err, 'NotFound')) throw notFound('ERR_BLOB_NOT_FOUND', `${what} ${d.digest} is not in the store (pull the image again)`, { digest: d.digest });
      throw err;
    }
    if (reader.size !== d.size) {
      await reader.close();
      throw localCorrupt(d.digest, what, `is ${reader.size} bytes in the store, the manifest says ${d.size}`, d.size, reader.size);
    }
    return new BlobSource(d, reader, algorithm, hex);
  }

  get size(): number {
    return this.d.size;
  }

  /** Bytes [position, position + length), short only past the end. */
  async read(position: number, length: number): Promise<Buffer> {
    const buf = await this.reader.read(position, length);
    if (buf.length < length && position + buf.length < this.d.size) {
      throw localCorrupt(this.d.digest, 'blob', `shrank while read (${position + buf.length} of ${this.d.size} bytes)`, this.d.size, position + buf.length);
    }
    return buf;
  }

  /** A fresh hash of nothing. */
  start(): HashAt {
    return { position: 0, hash: createHash(this.algorithm) };
  }

  /** The hash of [0, offset), read from the store (a resume starts here; no network). */
  async prefix(offset: number): Promise<HashAt> {
    if (offset > this.d.size) throw new RangeError(`offset ${offset} is past the end of ${this.d.digest} (${this.d.size} bytes)`);
    const h = this.start();
    while (h.position < offset) {
      const chunk = await this.read(h.position, Math.min(4 * READ_CHUNK, offset - h.position));
      h.hash.update(chunk);
      h.position += chunk.length;
    }
    return h;
  }

  /** Throws DataLoss unless `h` covers the whole blob and matches its digest. */
  check(h: HashAt, what: string): void {
    const actual = h.hash.copy().digest('hex');
    if (h.position !== this.d.size || actual !== this.hex) {
      throw localCorrupt(this.d.digest, what, `hashes to ${this.algorithm}:${actual}`, this.d.digest, `${this.algorithm}:${actual}`);
    }
  }

  close(): Promise<void> {
    return this.reader.close();
  }
}

/** A store blob whose bytes are not what its name says: never pushed (exit 9). */
export function localCorrupt(digest: string, what: string, why: string, expected: string | number, actual: string | number) {
  return dataLoss('ERR_LOCAL_CORRUPT', `${what} ${digest} in the store is corrupt: it ${why}; nothing of it was committed to the registry (dist verify ${digest})`, {
    digest, expected, actual,
  });
}
