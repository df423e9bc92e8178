/**
 * Worker-side half of the error contract: every entry point answers `{value}` or
 * `{error: toWire(err)}`, so the client rebuilds a ContentError with its kind and code
 * (a thrown Error would lose both in the structured clone).
 */
import { toWire, wrapSystemError } from '../src/errors.js';
import type { WorkerReply } from '../src/hash/pool.js';

export function replying<T, R>(fn: (task: T) => R | Promise<R>): (task: T) => Promise<WorkerReply<R>> {
  return async (task: T) => {
    try {
      return { value: await fn(task) };
    } catch (err) {
      return { error: toWire(wrapSystemError(err, 'hash worker')) };
    }
  };
}
