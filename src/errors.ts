/**
 * The error contract. Every failure the library reports is a ContentError with a
 * stable `code` (specific, e.g. ERR_DIGEST_MISMATCH) and a `kind` (one of a handful of
 * categories callers branch on; never branch on message text). Kinds map 1:1 to CLI
 * exit codes and, later, gRPC status codes.
 *
 * `instanceof` works across realms (worker threads, duplicated module copies) through a
 * Symbol.for brand, and errors are serialised explicitly (toWire/fromWire) so they keep
 * class, code and details when crossing a piscina boundary.
 */

export const ERROR_KINDS = [
  'NotFound',
  'AlreadyExists',
  'Unavailable',
  'FailedPrecondition',
  'InvalidArgument',
  'LockCompromised',
  'DataLoss',
  'PermissionDenied',
  'Internal',
  'Canceled',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** CLI exit status per kind. 0 is success, 2 is a usage error (bad flags). */
export const EXIT_CODES: Readonly<Record<ErrorKind, number>> = Object.freeze({
  Internal: 1,
  NotFound: 3,
  AlreadyExists: 4,
  Unavailable: 5,
  FailedPrecondition: 6,
  InvalidArgument: 7,
  LockCompromised: 8,
  DataLoss: 9,
  PermissionDenied: 10,
  Canceled: 130,
});

/**
 * gRPC status code per kind (`dist serve`, src/services/grpc-errors.ts): containerd's
 * errdefs mapping where containerd has the kind. One code is finer than a kind: an
 * InvalidArgument whose code is ERR_OUT_OF_RANGE (a write or read at a wrong offset)
 * travels as OUT_OF_RANGE (11), as containerd's content service answers it.
 */
export const GRPC_CODES: Readonly<Record<ErrorKind, number>> = Object.freeze({
  Canceled: 1,
  InvalidArgument: 3,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  FailedPrecondition: 9,
  LockCompromised: 10, // ABORTED: the operation lost its ref to another process
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
});
export const GRPC_OUT_OF_RANGE = 11;
export const OUT_OF_RANGE_CODE = 'ERR_OUT_OF_RANGE';

/** Context an error names; every field optional, all JSON-safe. */
export interface ErrorDetails {
  ref?: string;
  digest?: string;
  expected?: string | number;
  actual?: string | number;
  path?: string;
  holder?: { pid: number; host: string; ageMs?: number };
  syscall?: string;
  errno?: string;
  [key: string]: unknown;
}

const BRAND = Symbol.for('containerkit.ContentError');

export class ContentError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly details: ErrorDetails;

  constructor(kind: ErrorKind, code: string, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.code = code;
    this.details = details;
    Object.defineProperty(this, BRAND, { value: true });
  }

  override get name(): string {
    return `${this.kind}Error`;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }

  toJSON(): WireError {
    return toWire(this);
  }
}

/** Structured-clone-safe form of a ContentError. */
export interface WireError {
  __contentError: true;
  kind: ErrorKind;
  code: string;
  message: string;
  details: ErrorDetails;
  stack?: string;
}

export function toWire(err: ContentError): WireError {
  return { __contentError: true, kind: err.kind, code: err.code, message: err.message, details: err.details, stack: err.stack };
}

export function fromWire(w: WireError): ContentError {
  const err = new ContentError(w.kind, w.code, w.message, w.details);
  if (w.stack) err.stack = w.stack;
  return err;
}

export function isWireError(v: unknown): v is WireError {
  return typeof v === 'object' && v !== null && (v as WireError).__contentError === true;
}

export function isContentError(v: unknown): v is ContentError {
  return v instanceof ContentError;
}

export function isKind(err: unknown, kind: ErrorKind): err is ContentError {
  return err instanceof ContentError && err.kind === kind;
}

// Constructors, one per kind. The first argument is the stable code.
export const notFound = (code: string, msg: string, d?: ErrorDetails) => new ContentError('NotFound', code, msg, d);
export const alreadyExists = (code: string, msg: string, d?: ErrorDetails) => new ContentError('AlreadyExists', code, msg, d);
export const unavailable = (code: string, msg: string, d?: ErrorDetails) => new ContentError('Unavailable', code, msg, d);
export const failedPrecondition = (code: string, msg: string, d?: ErrorDetails) =>
  new ContentError('FailedPrecondition', code, msg, d);
export const invalidArgument = (code: string, msg: string, d?: ErrorDetails) =>
  new ContentError('InvalidArgument', code, msg, d);
export const lockCompromised = (code: string, msg: string, d?: ErrorDetails) =>
  new ContentError('LockCompromised', code, msg, d);
export const dataLoss = (code: string, msg: string, d?: ErrorDetails) => new ContentError('DataLoss', code, msg, d);
export const canceled = (code: string, msg: string, d?: ErrorDetails) => new ContentError('Canceled', code, msg, d);
export const permissionDenied = (code: string, msg: string, d?: ErrorDetails) =>
  new ContentError('PermissionDenied', code, msg, d);

/**
 * Wrap an unexpected (usually fs) error. ENOSPC/EDQUOT become FailedPrecondition
 * ERR_NO_SPACE so callers can tell "disk full, retry later" from a bug; EACCES/EPERM/EROFS
 * become PermissionDenied ERR_PERMISSION naming the path the system refused (a read-only
 * store is a matter of rights, not of the request or the data).
 */
export function wrapSystemError(err: unknown, context: string, d: ErrorDetails = {}): ContentError {
  if (err instanceof ContentError) return err;
  const e = err as NodeJS.ErrnoException;
  const errno = typeof e?.code === 'string' ? e.code : undefined;
  const details: ErrorDetails = { ...d, ...(errno ? { errno } : {}), ...(e?.syscall ? { syscall: e.syscall } : {}) };
  if (errno === 'ENOSPC' || errno === 'EDQUOT') {
    return new ContentError('FailedPrecondition', 'ERR_NO_SPACE', `${context}: no space left on device`, details, { cause: err });
  }
  if (errno === 'EACCES' || errno === 'EPERM' || errno === 'EROFS') {
    const path = typeof e.path === 'string' ? e.path : d.path;
    const what = errno === 'EROFS' ? 'read-only file system' : 'permission denied';
    const message = path !== undefined ? `${what}: ${path} (${context})` : `${what} (${context})`;
    return new ContentError('PermissionDenied', 'ERR_PERMISSION', message, { ...details, ...(path !== undefined ? { path } : {}) }, { cause: err });
  }
  const message = e instanceof Error ? e.message : String(err);
  return new ContentError('Internal', errno ? `ERR_SYSTEM_${errno}` : 'ERR_INTERNAL', `${context}: ${message}`, details, {
    cause: err,
  });
}
