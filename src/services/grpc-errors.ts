/**
 * ContentError ⇄ gRPC status. The server answers each failure with the kind's status code
 * (src/errors.ts GRPC_CODES: containerd's errdefs codes, so `ctr` branches on them as on
 * containerd's) and the error's message; the whole error (kind, code, message, details)
 * also travels in the trailer `containerkit-error-bin`, so the remote store rethrows exactly
 * the ContentError the local store raised. Foreign clients ignore that trailer.
 *
 * The trailer is read with a size cap and checked field by field: a server is another
 * process, and nothing it sends is trusted to be well formed.
 */
import type { Metadata, ServiceError, StatusObject } from '@grpc/grpc-js';
import {
  ContentError,
  ERROR_KINDS,
  GRPC_CODES,
  GRPC_OUT_OF_RANGE,
  OUT_OF_RANGE_CODE,
  wrapSystemError,
  type ErrorDetails,
  type ErrorKind,
} from '../errors.js';

export const ERROR_TRAILER = 'containerkit-error-bin';
const TRAILER_CAP = 64 * 1024;

/** Status code names, for messages (grpc-js's Status enum without importing it eagerly). */
const CODE_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
];

export function codeName(code: number): string {
  return CODE_NAMES[code] ?? `code ${code}`;
}

export function grpcCodeOf(err: ContentError): number {
  return err.code === OUT_OF_RANGE_CODE ? GRPC_OUT_OF_RANGE : GRPC_CODES[err.kind];
}

/** Kind for a status code that carries no containerkit trailer (a foreign server, the transport). */
const KIND_OF_CODE: Record<number, ErrorKind> = {
  1: 'Canceled',
  3: 'InvalidArgument',
  4: 'Unavailable',
  5: 'NotFound',
  6: 'AlreadyExists',
  7: 'PermissionDenied',
  8: 'Unavailable',
  9: 'FailedPrecondition',
  10: 'LockCompromised',
  11: 'InvalidArgument',
  14: 'Unavailable',
  15: 'DataLoss',
  16: 'PermissionDenied',
};

/**
 * The status a handler answers with: the error's code and message, and the error itself in
 * the trailer. Anything that is not a ContentError is wrapped (Internal, or the system
 * error's kind) first.
 */
export function toServiceError(err: unknown, metadataCtor: new () => Metadata, context = 'serving a request'): Partial<StatusObject> & { code: number } {
  const e = err instanceof ContentError ? err : wrapSystemError(err, context);
  const metadata = new metadataCtor();
  const body = Buffer.from(JSON.stringify({ kind: e.kind, code: e.code, message: e.message, details: e.details }));
  if (body.length <= TRAILER_CAP) metadata.set(ERROR_TRAILER, body);
  return { code: grpcCodeOf(e), details: e.message, metadata };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The ContentError in a status's trailer, if there is a well-formed one. */
function fromTrailer(metadata: Metadata | undefined): ContentError | undefined {
  const raw = metadata?.get(ERROR_TRAILER)?.[0];
  if (!Buffer.isBuffer(raw) || raw.length > TRAILER_CAP) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(v)) return undefined;
  const { kind, code, message, details } = v;
  if (typeof kind !== 'string' || !(ERROR_KINDS as readonly string[]).includes(kind)) return undefined;
  if (typeof code !== 'string' || code.length > 200 || typeof message !== 'string' || message.length > 16_384) return undefined;
  return new ContentError(kind as ErrorKind, code, message, isObject(details) ? (details as ErrorDetails) : {});
}

/**
 * The ContentError for a failed call. `where` names the server for transport failures
 * (nothing answered: the server is not there, or went away).
 */
export function fromServiceError(err: unknown, where: string): ContentError {
  if (err instanceof ContentError) return err;
  const se = err as Partial<ServiceError>;
  if (typeof se?.code !== 'number') return wrapSystemError(err, `calling the server at ${where}`);
  const carried = fromTrailer(se.metadata);
  if (carried) return carried;
  const details = typeof se.details === 'string' && se.details ? se.details : codeName(se.code);
  const kind = KIND_OF_CODE[se.code] ?? 'Internal';
  // Without our trailer, UNAVAILABLE is usually the transport: nothing listens there, or the
  // connection dropped.
  if (se.code === 14) return new ContentError('Unavailable', 'ERR_SERVER_UNAVAILABLE', `server at ${where}: ${details}`, { address: where });
  if (se.code === 4) return new ContentError('Unavailable', 'ERR_SERVER_TIMEOUT', `the server at ${where} did not answer in time: ${details}`, { address: where });
  const code = se.code === GRPC_OUT_OF_RANGE ? OUT_OF_RANGE_CODE : `ERR_GRPC_${codeName(se.code)}`;
  return new ContentError(kind, code, details, { grpcCode: se.code });
}
