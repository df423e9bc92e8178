/**
 * What every handler shares: the request headers it honours, and the one place a failure
 * becomes a gRPC status (./grpc-errors.ts).
 *
 * Headers (gRPC metadata):
 *   containerd-namespace  accepted, checked, and otherwise ignored: content, leases and
 *                         names are shared by every namespace of a root (containerd shares
 *                         content across namespaces too; its names are per namespace)
 *   containerd-lease      the lease the call works under: ingests and committed or found
 *                         blobs join it (containerd's semantics)
 *   containerkit-force    `1`: Abort takes a ref from a live holder (`dist abort --force`)
 *   containerkit-referenced  `refuse`: Delete refuses a blob something references
 *                         (`dist delete` without --force); containerd's Delete does not look
 */
import type { Metadata, sendUnaryData, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { invalidArgument } from '../errors.js';
import { MAX_REF_BYTES } from '../local/status-file.js';
import { toServiceError } from './grpc-errors.js';

export const NAMESPACE_HEADER = 'containerd-namespace';
export const LEASE_HEADER = 'containerd-lease';
export const FORCE_HEADER = 'containerkit-force';
export const REFERENCED_HEADER = 'containerkit-referenced';

export interface CallContext {
  namespace: string;
  lease?: string;
  force: boolean;
  refuseReferenced: boolean;
}

/** containerd's identifier rule for namespaces. */
const NAMESPACE = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;

function header(md: Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}

/** The namespace header's value, checked (InvalidArgument when it is not an identifier). */
export function checkNamespace(value: string | undefined): string {
  const namespace = value ?? 'default';
  if (namespace.length > 76 || !NAMESPACE.test(namespace)) {
    throw invalidArgument('ERR_INVALID_NAMESPACE', `namespace ${JSON.stringify(namespace.slice(0, 80))} is not a valid identifier`, { actual: namespace.slice(0, 80) });
  }
  return namespace;
}

export function callContext(md: Metadata): CallContext {
  const namespace = checkNamespace(header(md, NAMESPACE_HEADER));
  const lease = header(md, LEASE_HEADER);
  if (lease !== undefined && (lease === '' || Buffer.byteLength(lease) > MAX_REF_BYTES)) {
    throw invalidArgument('ERR_INVALID_LEASE', 'the containerd-lease header must be a non-empty lease id', {});
  }
  return {
    namespace,
    ...(lease !== undefined ? { lease } : {}),
    force: header(md, FORCE_HEADER) === '1',
    refuseReferenced: header(md, REFERENCED_HEADER) === 'refuse',
  };
}

export type MetadataCtor = new () => Metadata;

/** A unary handler from an async function; every failure is answered as a status. */
export function unary<Req, Res>(Md: MetadataCtor, name: string, fn: (req: Req, ctx: CallContext) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => fn(call.request, callContext(call.metadata)))
      .then(
        (res) => callback(null, res),
        (err) => callback(toServiceError(err, Md, name)),
      );
  };
}

/**
 * A server-streaming handler: `fn` writes with `send`, which waits while the client is
 * slow (the stream's buffer is full), so memory stays bounded however large the answer.
 */
export function serverStream<Req, Res>(Md: MetadataCtor, name: string, fn: (req: Req, send: (msg: Res) => Promise<void>, ctx: CallContext, call: ServerWritableStream<Req, Res>) => Promise<void>) {
  return (call: ServerWritableStream<Req, Res>): void => {
    let gone = false;
    call.on('cancelled', () => (gone = true));
    const send = (msg: Res): Promise<void> => {
      if (gone) return Promise.reject(new Error('the client went away'));
      if (call.write(msg)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const onDrain = () => (call.off('cancelled', onGone), resolve());
        const onGone = () => (call.off('drain', onDrain), reject(new Error('the client went away')));
        call.once('drain', onDrain);
        call.once('cancelled', onGone);
      });
    };
    Promise.resolve()
      .then(() => fn(call.request, send, callContext(call.metadata), call))
      .then(
        () => {
          if (!gone) call.end();
        },
        (err) => {
          if (!gone) call.emit('error', toServiceError(err, Md, name));
        },
      );
  };
}
