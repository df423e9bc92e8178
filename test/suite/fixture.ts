/**
 * What the conformance suite needs from a Store implementation: a factory that makes a
 * fresh, empty store and a cleanup that disposes of it.
 */
import type { Store, Writer } from '../../src/content/types.js';

export interface StoreFixture {
  store: Store;
  cleanup(): Promise<void>;
}

export type StoreFactory = () => Promise<StoreFixture>;

/** Runs `fn` against a fresh store from `factory`, always cleaning up. */
export function withStore(factory: StoreFactory, fn: (store: Store) => Promise<void>): () => Promise<void> {
  return async () => {
    const { store, cleanup } = await factory();
    try {
      await fn(store);
    } finally {
      await cleanup();
    }
  };
}

/** Writes `data` in chunks of `chunkSize` bytes. */
export async function writeAll(w: Writer, data: Uint8Array, chunkSize = 64 * 1024): Promise<void> {
  for (let i = 0; i < data.byteLength; i += chunkSize) await w.write(data.subarray(i, Math.min(i + chunkSize, data.byteLength)));
}

/** Opens a writer, writes `data`, commits; returns the committed digest. */
export async function putBlob(store: Store, ref: string, data: Uint8Array, expected?: string): Promise<string> {
  const w = await store.writer({ ref, total: data.byteLength, expected });
  try {
    await writeAll(w, data);
    return await w.commit({ size: data.byteLength, expected });
  } finally {
    await w.close();
  }
}

/**
 * Slack for timestamps that come from the file system: the kernel's file clock is coarse
 * (it can lag Date.now() by a timer tick), so a time read back from a file may be a few
 * ms before a Date.now() taken just before the write.
 */
export const CLOCK_SLACK_MS = 15;

export function expectBetween(actual: Date | undefined, lo: number, hi: number, what: string): void {
  if (!(actual instanceof Date) || Number.isNaN(actual.getTime())) throw new Error(`${what}: expected a Date, got ${String(actual)}`);
  const t = actual.getTime();
  if (t < lo - CLOCK_SLACK_MS || t > hi + CLOCK_SLACK_MS) {
    throw new Error(`${what} ${actual.toISOString()} not between ${new Date(lo).toISOString()} and ${new Date(hi).toISOString()}`);
  }
}
