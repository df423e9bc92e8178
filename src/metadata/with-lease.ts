/**
 * Running work under a lease: `withLease(store, fn)` creates a lease bound to this process
 * (it protects nothing once the process is gone), or uses an existing one (`existing`), and
 * gives `fn` a `protect(digests)` that puts blobs in it in the collector's read section —
 * call it before relying on a blob being present, or before committing one. A lease this
 * created is deleted when `fn` settles; by then the caller has recorded what it needed (a
 * name), which the collector sees instead.
 */
import type { LocalStore } from '../local/store.js';
import { notFound } from '../errors.js';
import { readSection } from './gc-lock.js';
import { addResources, CONTENT, createLease, deleteLease, getLease, type CreateLease } from './leases.js';

export interface LeaseScope {
  id: string;
  protect(digests: string[]): Promise<void>;
}

export interface WithLeaseOptions extends Omit<CreateLease, 'bound'> {
  /** Use this existing lease (kept afterwards) instead of creating one. */
  existing?: string;
}

export function leaseScope(store: LocalStore, id: string): LeaseScope {
  return {
    id,
    protect: async (digests) => {
      if (!digests.length) return;
      await readSection(store.trust, { lock: store.lockOptions }, () => addResources(store.trust, id, digests.map((d) => ({ type: CONTENT, id: d }))));
    },
  };
}

export async function withLease<T>(store: LocalStore, fn: (lease: LeaseScope) => Promise<T>, opts: WithLeaseOptions = {}): Promise<T> {
  if (opts.existing !== undefined) {
    if (!getLease(store.root, opts.existing)) throw notFound('ERR_LEASE_NOT_FOUND', `no lease ${JSON.stringify(opts.existing)}`, { lease: opts.existing });
    return fn(leaseScope(store, opts.existing));
  }
  const lease = await createLease(store.trust, { ...opts, bound: true });
  try {
    return await fn(leaseScope(store, lease.id));
  } finally {
    await deleteLease(store.root, lease.id).catch(() => {});
  }
}
