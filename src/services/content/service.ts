/**
 * containerd.services.content.v1.Content over a Store, call for call as containerd 1.6's
 * content service: Info, Update, List, Delete, Read, Status, ListStatuses, Abort here; the
 * Write stream in ./write.ts. The store does the work and keeps it correct across processes
 * (its on-disk locks); this file only translates.
 */
import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Info, Status, Store } from '../../content/types.js';
import { parseDigest } from '../../digest.js';
import { failedPrecondition, invalidArgument, OUT_OF_RANGE_CODE } from '../../errors.js';
import { withReferrers } from '../../metadata/gc.js';
import { serverStream, unary, type MetadataCtor } from '../call.js';
import { infoToWire, statusToWire } from '../convert.js';
import { mapField, parseFilters, type Adaptor } from '../filters.js';
import type { FieldMask, ReadRequest, ReadResponse, WireInfo, WireStatus, WriteRequest, WriteResponse } from '../messages.js';
import type { ContentBacking } from './backing.js';
import type { BlobReaders } from './blob-readers.js';
import { handleWrite, type WriteSessions } from './write.js';

/** Infos per List answer (containerd's block size). */
const LIST_BLOCK = 100;
/** Bytes per Read answer (containerd's buffer). */
const READ_CHUNK = 1 << 20;

function digestOf(d: string | undefined): string {
  return parseDigest(d ?? '').digest;
}

function infoFields(i: Info): Adaptor {
  return (path) => {
    if (path[0] === 'digest' && path.length === 1) return i.digest;
    if (path[0] === 'labels') return mapField(path.slice(1), i.labels);
    return undefined;
  };
}

function statusFields(s: Status): Adaptor {
  return (path) => {
    if (path.length !== 1) return undefined;
    if (path[0] === 'ref') return s.ref;
    // containerkit additions: the state column of `dist active`, and the expected digest.
    if (path[0] === 'state') return s.state;
    if (path[0] === 'expected') return s.expected;
    return undefined;
  };
}

/**
 * Read (containerd's semantics): `size` bytes from `offset` (0, or past the end: to the end),
 * in answers of at most 1 MiB; an offset past the end is OutOfRange. Shared by the grpc-js
 * handler and the direct HTTP/2 path (./fast-read.ts).
 */
export async function readContent(store: Store, readers: BlobReaders | undefined, req: ReadRequest, send: (m: ReadResponse) => Promise<void>): Promise<void> {
  const digest = digestOf(req.digest);
  const ra = readers ? await readers.acquire(digest) : await store.readerAt(digest);
  let at = 0;
  let size = req.size ?? 0;
  try {
    const blobSize = ra.size;
    const offset = Math.max(0, req.offset ?? 0);
    if (offset > blobSize) {
      throw invalidArgument(OUT_OF_RANGE_CODE, `read past object length ${blobSize} bytes (offset ${offset}, ${digest})`, { digest, expected: blobSize, actual: offset });
    }
    if (size <= 0 || offset + size > blobSize) size = blobSize - offset;
    // As containerd's: each answer's offset counts from the requested offset.
    while (at < size) {
      const data = await ra.read(offset + at, Math.min(READ_CHUNK, size - at));
      if (data.length === 0) break;
      await send({ offset: at, data });
      at += data.length;
    }
  } finally {
    if ('release' in ra) ra.release();
    else await ra.close();
  }
  if (at !== size) throw failedPrecondition('ERR_SHORT_READ', `${digest}: read ${at} of ${size} bytes (the blob changed or vanished)`, { digest, expected: size, actual: at });
}

export function contentService(backing: ContentBacking, Md: MetadataCtor, sessions: WriteSessions, readers?: BlobReaders): UntypedServiceImplementation {
  const store = backing.store;
  return {
    Info: unary(Md, 'Info', async (req: { digest?: string }) => ({ info: infoToWire(await store.info(digestOf(req.digest))) })),

    Update: unary(Md, 'Update', async (req: { info?: WireInfo; updateMask?: FieldMask }) => {
      const digest = digestOf(req.info?.digest);
      const info = await store.update(digest, { labels: { ...(req.info?.labels ?? {}) } }, req.updateMask?.paths ?? []);
      return { info: infoToWire(info) };
    }),

    List: serverStream(Md, 'List', async (req: { filters?: string[] }, send: (m: { info: WireInfo[] }) => Promise<void>) => {
      const match = parseFilters(req.filters);
      let block: WireInfo[] = [];
      for await (const info of store.walk()) {
        if (!match(infoFields(info))) continue;
        block.push(infoToWire(info));
        if (block.length >= LIST_BLOCK) {
          await send({ info: block });
          block = [];
        }
      }
      if (block.length) await send({ info: block });
    }),

    Delete: unary(Md, 'Delete', async (req: { digest?: string }, ctx) => {
      const digest = digestOf(req.digest);
      if (!ctx.refuseReferenced || !backing.local) await store.delete(digest);
      else {
        // In the collector's exclusive section: nothing starts relying on the blob between
        // the check and the deletion.
        await withReferrers(backing.local, async (referrer) => {
          const by = referrer(digest);
          if (by) throw failedPrecondition('ERR_BLOB_REFERENCED', `${digest} is referenced by ${by}: not deleted (--force deletes it anyway)`, { digest });
          await store.delete(digest);
        });
      }
      if (ctx.lease) await backing.unleaseContent(ctx.lease, digest);
      return {};
    }),

    Read: serverStream(Md, 'Read', (req: ReadRequest, send: (m: ReadResponse) => Promise<void>) => readContent(store, readers, req, send)),

    Status: unary(Md, 'Status', async (req: { ref?: string }) => {
      const ref = req.ref ?? '';
      return { status: statusToWire(await store.status(ref)) as WireStatus };
    }),

    ListStatuses: unary(Md, 'ListStatuses', async (req: { filters?: string[] }) => {
      const match = parseFilters(req.filters);
      const all = await store.listStatuses();
      return { statuses: all.filter((s) => match(statusFields(s))).map(statusToWire) };
    }),

    Abort: unary(Md, 'Abort', async (req: { ref?: string }, ctx) => {
      const ref = req.ref ?? '';
      if (ctx.force && backing.local) await backing.local.abort(ref, { force: true });
      else await store.abort(ref);
      if (ctx.lease) await backing.unleaseIngest(ctx.lease, ref);
      return {};
    }),

    Write: (call: ServerDuplexStream<WriteRequest, WriteResponse>) => handleWrite(call, backing, Md, sessions),
  };
}
