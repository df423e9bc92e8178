/**
 * Error codes: every kind travels as its gRPC status code (containerd's where it has the
 * kind) and comes back as the same ContentError; and the server answers each failure of
 * containerd's content API with containerd's code, seen by a raw gRPC client:
 * NotFound 5, AlreadyExists 6, FailedPrecondition 9, Unavailable 14, InvalidArgument 3,
 * OutOfRange 11.
 */
import { join } from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentError, ERROR_KINDS, GRPC_CODES, type ErrorKind } from '../../src/errors.js';
import { Connection } from '../../src/remote-store/connect.js';
import { openRemoteStore, type RemoteStore } from '../../src/remote-store/store.js';
import { fromServiceError, toServiceError } from '../../src/services/grpc-errors.js';
import type { WriteRequest, WriteResponse } from '../../src/services/messages.js';
import { schema } from '../../src/services/schema.js';
import { digestOf, randomBytes } from '../helpers/bytes.js';
import { expectError } from '../helpers/errors.js';
import { cleanupAll, makeTempDir } from '../helpers/tmp.js';
import { startServe, type Served } from './helpers/serve.js';

const CONTAINERD_CODES: Partial<Record<ErrorKind, number>> = { NotFound: 5, AlreadyExists: 6, FailedPrecondition: 9, Unavailable: 14, InvalidArgument: 3, Canceled: 1 };

describe('kind ⇄ gRPC status', () => {
  it('every kind has a code, containerd\'s where containerd has the kind, and comes back as the same error', async () => {
    const { grpc } = await schema();
    for (const kind of ERROR_KINDS) {
      const code = GRPC_CODES[kind];
      expect(code, kind).toBeGreaterThan(0);
      if (CONTAINERD_CODES[kind] !== undefined) expect(code, kind).toBe(CONTAINERD_CODES[kind]);
      const err = new ContentError(kind, `ERR_TEST_${kind.toUpperCase()}`, `a ${kind} failure for sha256:…`, { ref: 'r', expected: 1, actual: 2 });
      const status = toServiceError(err, grpc.Metadata);
      expect(status.code, kind).toBe(code);
      expect(status.details).toBe(err.message);
      const back = fromServiceError({ ...status, message: status.details } as ServiceError, 'unix:///x');
      expect({ kind: back.kind, code: back.code, message: back.message, details: back.details }).toEqual({ kind, code: err.code, message: err.message, details: err.details });
    }
    // Codes are distinct per kind: a client can branch on the code alone.
    expect(new Set(Object.values(GRPC_CODES)).size).toBe(ERROR_KINDS.length);
  });

  it('OutOfRange is an InvalidArgument whose code says so, and travels as 11', async () => {
    const { grpc } = await schema();
    const s = toServiceError(new ContentError('InvalidArgument', 'ERR_OUT_OF_RANGE', 'write @5 must occur at current offset 3'), grpc.Metadata);
    expect(s.code).toBe(11);
  });

  it('a status without the trailer (another server, the transport) maps by its code alone', () => {
    const cases: Array<[number, ErrorKind]> = [[5, 'NotFound'], [6, 'AlreadyExists'], [9, 'FailedPrecondition'], [14, 'Unavailable'], [3, 'InvalidArgument'], [11, 'InvalidArgument'], [13, 'Internal'], [15, 'DataLoss'], [7, 'PermissionDenied'], [1, 'Canceled'], [4, 'Unavailable']];
    for (const [code, kind] of cases) {
      const e = fromServiceError({ code, details: 'ref x locked: unavailable' } as ServiceError, 'unix:///s.sock');
      expect(e.kind, String(code)).toBe(kind);
    }
    expect(fromServiceError({ code: 11, details: 'x' } as ServiceError, 'a').code).toBe('ERR_OUT_OF_RANGE');
    expect(fromServiceError({ code: 14, details: 'No connection established' } as ServiceError, 'unix:///s.sock').message).toContain('unix:///s.sock');
  });

  it('a malformed or oversized trailer is not trusted', async () => {
    const { grpc } = await schema();
    for (const body of [Buffer.from('not json'), Buffer.from(JSON.stringify({ kind: 'Bogus', code: 'X', message: 'm' })), Buffer.alloc(70_000, 0x20)]) {
      const md = new grpc.Metadata();
      md.set('containerkit-error-bin', body);
      const e = fromServiceError({ code: 5, details: 'plain', metadata: md } as ServiceError, 'a');
      expect(e.kind).toBe('NotFound');
      expect(e.code).toBe('ERR_GRPC_NOT_FOUND');
    }
  });
});

describe('containerd\'s codes from a real server', () => {
  let served: Served;
  let conn: Connection;
  let store: RemoteStore;
  beforeAll(async () => {
    const tmp = await makeTempDir('ck-codes-');
    served = await startServe(join(tmp.dir, 'root'), `unix://${join(tmp.dir, 'dist.sock')}`);
    conn = await Connection.open(served.address);
    store = await openRemoteStore(served.address);
  });
  afterAll(async () => {
    conn?.close();
    await store?.close();
    await served?.stop();
    await cleanupAll();
  });

  /** The raw status code of a unary call (no client-side mapping). */
  function rawUnary(method: string, req: object): Promise<number> {
    const c = conn.client<Record<string, (r: object, md: unknown, cb: (e: ServiceError | null) => void) => void>>('content');
    return new Promise((resolve) => c[method]!.call(c, req, conn.metadata(), (e) => resolve(e ? e.code : 0)));
  }

  /** Sends `reqs` on one Write stream; resolves with the answers and the final status code. */
  function rawWrite(reqs: WriteRequest[]): Promise<{ answers: WriteResponse[]; code: number; details: string }> {
    const call = (conn.client('content') as unknown as { Write(md: unknown): import('@grpc/grpc-js').ClientDuplexStream<WriteRequest, WriteResponse> }).Write(conn.metadata());
    const answers: WriteResponse[] = [];
    return new Promise((resolve) => {
      let i = 0;
      const next = () => {
        if (i < reqs.length) call.write(reqs[i++]!);
        else call.end();
      };
      call.on('data', (r: WriteResponse) => {
        answers.push(r);
        next();
      });
      call.on('error', (e: ServiceError) => resolve({ answers, code: e.code, details: e.details }));
      call.on('status', (s) => (s.code === 0 ? resolve({ answers, code: 0, details: '' }) : undefined));
      next();
    });
  }

  it('NotFound 5, InvalidArgument 3 (bad digest), OutOfRange 11 (read past the end)', async () => {
    const absent = digestOf(randomBytes(10));
    expect(await rawUnary('Info', { digest: absent })).toBe(5);
    expect(await rawUnary('Delete', { digest: absent })).toBe(5);
    expect(await rawUnary('Status', { ref: 'no-such-ref' })).toBe(5);
    expect(await rawUnary('Abort', { ref: 'no-such-ref' })).toBe(5);
    expect(await rawUnary('Info', { digest: 'sha256:nothex' })).toBe(3);
    expect(await rawUnary('Update', { info: { digest: absent }, updateMask: { paths: ['labels.a'] } })).toBe(5);

    const data = randomBytes(1000);
    const w = await store.writer({ ref: 'codes-read' });
    await w.write(data);
    const d = await w.commit();
    expect(await rawUnary('Update', { info: { digest: d }, updateMask: { paths: ['size'] } })).toBe(3);
    const read = (offset: number) =>
      new Promise<number>((resolve) => {
        const c = conn.client<Record<string, (r: object, md: unknown) => import('@grpc/grpc-js').ClientReadableStream<unknown>>>('content');
        const s = c.Read!.call(c, { digest: d, offset }, conn.metadata());
        s.on('data', () => {});
        s.on('error', (e: ServiceError) => resolve(e.code));
        s.on('status', (st) => st.code === 0 && resolve(0));
      });
    expect(await read(1000)).toBe(0);
    expect(await read(1001)).toBe(11);
    await expectError(store.readerAt(digestOf(randomBytes(3))), 'NotFound');
  });

  it('Write: AlreadyExists 6, FailedPrecondition 9, Unavailable 14, OutOfRange 11, InvalidArgument 3', async () => {
    const data = randomBytes(2000);
    const d = digestOf(data);
    // OutOfRange: a write at an offset that is not the current one.
    const oor = await rawWrite([{ action: 'STAT', ref: 'codes-w' }, { action: 'WRITE', offset: 0, data: data.subarray(0, 100) }, { action: 'WRITE', offset: 500, data: data.subarray(500, 600) }]);
    expect(oor.code).toBe(11);
    expect(oor.details).toContain('must occur at current offset 100');
    // The ref was released with the data kept, and offset 0 truncates (containerd's restart).
    const restart = await rawWrite([{ action: 'STAT', ref: 'codes-w' }, { action: 'WRITE', offset: 0, data: data.subarray(0, 10) }]);
    expect(restart.answers.map((a) => a.offset)).toEqual([100, 10]);
    // FailedPrecondition: a commit whose size is wrong.
    const fp = await rawWrite([{ action: 'STAT', ref: 'codes-w' }, { action: 'COMMIT', offset: 10, total: 9 }]);
    expect(fp.code).toBe(9);
    // A complete commit, labels and all.
    const good = await rawWrite([{ action: 'STAT', ref: 'codes-w', total: 2000, expected: d }, { action: 'WRITE', offset: 0, data }, { action: 'COMMIT', offset: 2000, total: 2000, expected: d, labels: { k: 'v' } }]);
    expect(good.code).toBe(0);
    expect(good.answers.at(-1)).toMatchObject({ action: 'COMMIT', offset: 2000, digest: d });
    expect((await store.info(d)).labels).toEqual({ k: 'v' });
    // AlreadyExists: at open, and on a later message naming present content.
    expect((await rawWrite([{ action: 'STAT', ref: 'codes-x', expected: d }])).code).toBe(6);
    const later = await rawWrite([{ action: 'STAT', ref: 'codes-y' }, { action: 'WRITE', offset: 0, data: data.subarray(0, 5) }, { action: 'STAT', expected: d }]);
    expect(later.code).toBe(6);
    await expectError(store.status('codes-y'), 'NotFound'); // discarded, as containerd does
    // InvalidArgument: a first message without a ref.
    expect((await rawWrite([{ action: 'STAT' }])).code).toBe(3);
    // Unavailable: the ref is held by another writer.
    const held = await store.writer({ ref: 'codes-held' });
    try {
      const u = await rawWrite([{ action: 'STAT', ref: 'codes-held' }]);
      expect(u.code).toBe(14);
      expect(u.details).toContain('codes-held');
    } finally {
      await held.close();
    }
  });

  it('a dead server is Unavailable naming its address', async () => {
    const tmp = await makeTempDir('ck-dead-');
    const s = await openRemoteStore(`unix://${join(tmp.dir, 'nobody.sock')}`);
    try {
      const err = await expectError(s.info(digestOf(randomBytes(1))), 'Unavailable', 'ERR_SERVER_UNAVAILABLE');
      expect(err.message).toContain('nobody.sock');
    } finally {
      await s.close();
    }
  });
});
