/** Assertions on the error contract: kind and code, never message text alone. */
import { expect } from 'vitest';
import { ContentError, type ErrorKind } from '../../src/errors.js';

/** Awaits `p`, expects it to reject with a ContentError of `kind` (and `code`, if given), returns the error. */
export async function expectError(p: Promise<unknown> | (() => unknown), kind: ErrorKind, code?: string): Promise<ContentError> {
  let result: unknown;
  try {
    result = await (typeof p === 'function' ? p() : p);
  } catch (err) {
    if (!(err instanceof ContentError)) {
      throw new Error(`expected a ContentError of kind ${kind}, got ${(err as Error)?.stack ?? String(err)}`);
    }
    expect(err.kind, `kind of ${err.code}: ${err.message}`).toBe(kind);
    if (code) expect(err.code, err.message).toBe(code);
    return err;
  }
  throw new Error(`expected a ContentError of kind ${kind}${code ? ` (${code})` : ''}, but it resolved to ${show(result)}`);
}

function show(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
