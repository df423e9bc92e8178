/**
 * The remote Store: the Store contract (src/content/types.ts) over a server's content API,
 * so whatever works on a local store — writeBlob, the CLI's commands, the conformance suite
 * — works against `dist serve` unchanged. `root` is the server's address.
 *
 * Beyond containerd's messages it uses a few additions of this project's server (extra
 * fields and headers, ignored by other servers' clients): the digest algorithm of a new
 * ingest, ingest states and holders, `abort --force`, and the referrer check of
 * `dist delete`. `path()` has no answer over the network: it is NotFound for an absent blob
 * and FailedPrecondition otherwise.
 */
import { Readable } from 'node:stream';
import type { Info, ReadStreamOptions, ReaderAt, Status, StatusFilter, Store, WalkFilter, Writer, WriterOptions } from '../content/types.js';
import { parseAlgorithm, parseDigest } from '../digest.js';
import { failedPrecondition, invalidArgument } from '../errors.js';
import { FORCE_HEADER, REFERENCED_HEADER } from '../services/call.js';
import { infoFromWire, statusFromWire } from '../services/convert.js';
import { prefixExpression } from '../services/filters.js';
import type { ReadResponse, WireInfo, WireStatus } from '../services/messages.js';
import { Connection, type RemoteOptions } from './connect.js';
import { RemoteWriter } from './writer.js';

function nonNegativeInt(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!(Number.isSafeInteger(v) && (v as number) >= 0)) {
    throw invalidArgument('ERR_INVALID_RANGE', `${what} must be a non-negative integer, got ${String(v)}`, { actual: String(v) });
  }
  return v as number;
}

export interface RemoteDeleteOptions {
  /** Refuse (FailedPrecondition) a blob something references, as `dist delete` does. */
  refuseReferenced?: boolean;
}

export class RemoteStore implements Store {
  readonly root: string;

  constructor(readonly connection: Connection) {
    this.root = connection.where;
  }

  async info(digest: string): Promise<Info> {
    const r = await this.connection.unary<{ info?: WireInfo }>('content', 'Info', { digest: parseDigest(digest).digest });
    return infoFromWire(r.info);
  }

  async *walk(filter: WalkFilter = {}): AsyncGenerator<Info> {
    const sel: string[] = [];
    if (filter.algorithm) sel.push(`digest~=${prefixExpression(`${parseAlgorithm(filter.algorithm)}:`)}`);
    if (filter.prefix) sel.push(`digest~=${prefixExpression(filter.prefix)}`);
    for await (const block of this.connection.stream<{ info?: WireInfo[] }>('content', 'List', { filters: sel.length ? [sel.join(',')] : [] })) {
      for (const w of block.info ?? []) {
        const i = infoFromWire(w);
        if (filter.minSize !== undefined && i.size < filter.minSize) continue;
        if (filter.maxSize !== undefined && i.size > filter.maxSize) continue;
        yield i;
      }
    }
  }

  /** The bytes [offset, offset + size) as the server streams them. */
  private async *chunks(digest: string, offset: number, size: number): AsyncGenerator<Buffer> {
    for await (const m of this.connection.stream<ReadResponse>('content', 'Read', { digest, offset, size })) if (m.data?.length) yield m.data;
  }

  async readerAt(digest: string): Promise<ReaderAt> {
    const d = parseDigest(digest).digest;
    const { size } = await this.info(d);
    return {
      size,
      read: async (position: number, length: number): Promise<Buffer> => {
        nonNegativeInt(position, 'position');
        nonNegativeInt(length, 'length');
        const n = Math.max(0, Math.min(length, size - position));
        // Size 0 means "to the end" on the wire: an empty read never goes out.
        if (n === 0) return Buffer.alloc(0);
        const parts: Buffer[] = [];
        let got = 0;
        for await (const c of this.chunks(d, position, n)) {
          parts.push(c.length > n - got ? c.subarray(0, n - got) : c);
          got += Math.min(c.length, n - got);
          if (got >= n) break;
        }
        return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got);
      },
      close: async () => {},
    };
  }

  async createReadStream(digest: string, options: ReadStreamOptions = {}): Promise<Readable> {
    const d = parseDigest(digest).digest;
    const start = nonNegativeInt(options.start, 'start') ?? 0;
    const end = nonNegativeInt(options.end, 'end');
    const { size } = await this.info(d); // NotFound now, not at the first read
    const last = Math.min(end ?? size - 1, size - 1);
    if (start > last) return Readable.from([]);
    return Readable.from(this.chunks(d, start, last - start + 1), { objectMode: false });
  }

  async update(digest: string, change: { labels?: Record<string, string> }, fieldpaths?: string[]): Promise<Info> {
    const r = await this.connection.unary<{ info?: WireInfo }>('content', 'Update', {
      info: { digest: parseDigest(digest).digest, labels: change?.labels ?? {} },
      updateMask: { paths: fieldpaths ?? [] },
    });
    return infoFromWire(r.info);
  }

  async path(digest: string): Promise<string> {
    await this.info(digest);
    throw failedPrecondition('ERR_NO_LOCAL_PATH', `${digest} is stored by the server at ${this.root}: a remote store has no local paths`, { digest });
  }

  async delete(digest: string, options: RemoteDeleteOptions = {}): Promise<void> {
    await this.connection.unary('content', 'Delete', { digest: parseDigest(digest).digest }, options.refuseReferenced ? { [REFERENCED_HEADER]: 'refuse' } : undefined);
  }

  writer(options: WriterOptions): Promise<Writer> {
    return RemoteWriter.open(this.connection, options);
  }

  async status(ref: string): Promise<Status> {
    if (typeof ref !== 'string' || ref.length === 0) throw invalidArgument('ERR_INVALID_REF', 'ref must be a non-empty string', { ref: String(ref) });
    const r = await this.connection.unary<{ status?: WireStatus }>('content', 'Status', { ref });
    return statusFromWire(r.status ?? {});
  }

  async listStatuses(filter: StatusFilter = {}): Promise<Status[]> {
    const sel: string[] = [];
    if (filter.prefix) sel.push(`ref~=${prefixExpression(filter.prefix)}`);
    if (filter.state) sel.push(`state==${filter.state}`);
    const r = await this.connection.unary<{ statuses?: WireStatus[] }>('content', 'ListStatuses', { filters: sel.length ? [sel.join(',')] : [] });
    return (r.statuses ?? []).map(statusFromWire);
  }

  async abort(ref: string, options: { force?: boolean } = {}): Promise<void> {
    if (typeof ref !== 'string' || ref.length === 0) throw invalidArgument('ERR_INVALID_REF', 'ref must be a non-empty string', { ref: String(ref) });
    await this.connection.unary('content', 'Abort', { ref }, options.force ? { [FORCE_HEADER]: '1' } : undefined);
  }

  async close(): Promise<void> {
    this.connection.close();
  }
}

/** A Store over the server at `address` (unix:///path.sock, /path.sock, 127.0.0.1:PORT). */
export async function openRemoteStore(address: string, options: RemoteOptions = {}): Promise<RemoteStore> {
  return new RemoteStore(await Connection.open(address, options));
}
