/** Walk over many blobs under sha256 and sha512, with filters. */
import { describe, expect, it } from 'vitest';
import type { Info, Store, WalkFilter } from '../../src/content/types.js';
import { digestOf, mapLimit, randomBytes, type RefAlgorithm } from '../helpers/bytes.js';
import { withStore, writeAll, type StoreFactory } from './fixture.js';

/** Blobs per algorithm. */
const PER_ALGORITHM = 1000;
/** Ingests in flight while populating the store. */
const CONCURRENCY = 16;

async function collect(store: Store, filter?: WalkFilter): Promise<Info[]> {
  const out: Info[] = [];
  for await (const i of store.walk(filter)) out.push(i);
  return out;
}

export function walkTests(factory: StoreFactory): void {
  describe('Walk', () => {
    it(
      `visits each of ${2 * PER_ALGORITHM} blobs under sha256 and sha512 exactly once, and honours every filter`,
      withStore(factory, async (store) => {
        const want = new Map<string, number>();
        const jobs: Array<{ alg: RefAlgorithm; data: Buffer }> = [];
        for (let i = 0; i < PER_ALGORITHM; i++) {
          for (const alg of ['sha256', 'sha512'] as const) jobs.push({ alg, data: randomBytes(1 + ((i * 37) % 2048)) });
        }
        await mapLimit(jobs, CONCURRENCY, async ({ alg, data }, i) => {
          const d = digestOf(data, alg);
          const w = await store.writer({ ref: `walk-${i}`, algorithm: alg, total: data.length });
          try {
            await writeAll(w, data);
            expect(await w.commit({ size: data.length, expected: d })).toBe(d);
          } finally {
            await w.close();
          }
          want.set(d, data.length);
        });
        expect(want.size).toBe(2 * PER_ALGORITHM);

        const all = await collect(store);
        expect(all.length).toBe(want.size);
        expect(new Set(all.map((i) => i.digest)).size).toBe(want.size);
        for (const info of all) {
          expect(want.get(info.digest), info.digest).toBe(info.size);
          expect(info.createdAt).toBeInstanceOf(Date);
        }

        for (const alg of ['sha256', 'sha512'] as const) {
          const some = await collect(store, { algorithm: alg });
          expect(some.length).toBe(PER_ALGORITHM);
          expect(some.every((i) => i.digest.startsWith(`${alg}:`))).toBe(true);
        }

        const prefix = 'sha256:a';
        const byPrefix = (await collect(store, { prefix })).map((i) => i.digest).sort();
        expect(byPrefix).toEqual([...want.keys()].filter((d) => d.startsWith(prefix)).sort());
        expect(byPrefix.length).toBeGreaterThan(0);

        const bySize = (await collect(store, { minSize: 100, maxSize: 200 })).map((i) => i.digest).sort();
        expect(bySize).toEqual(
          [...want.entries()]
            .filter(([, s]) => s >= 100 && s <= 200)
            .map(([d]) => d)
            .sort(),
        );

        // Nothing is left of the ingests.
        expect(await store.listStatuses()).toEqual([]);
      }),
    );

    it(
      'walks an empty store without error',
      withStore(factory, async (store) => {
        expect(await collect(store)).toEqual([]);
        expect(await collect(store, { algorithm: 'sha512' })).toEqual([]);
      }),
    );
  });
}
