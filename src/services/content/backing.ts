/**
 * What the content service serves: any Store (the local store of this root, or a remote
 * one), and — when it is a local store — the root's metadata, which leases and the
 * referrer check need. Lease bookkeeping follows containerd's: an ingest under a lease joins
 * it as an `ingests` resource until it ends; a blob committed, or found already present,
 * joins it as `content` — before the commit, or in the same read section as the check that
 * found it (src/metadata/leases.ts), so the collector never takes it in between.
 */
import type { Store } from '../../content/types.js';
import { failedPrecondition, isKind } from '../../errors.js';
import { LocalStore } from '../../local/store.js';
import { addResources, CONTENT, deleteResources, INGESTS, protectBlobs } from '../../metadata/leases.js';
import { leaseScope } from '../../metadata/with-lease.js';

export class ContentBacking {
  readonly local: LocalStore | undefined;

  constructor(readonly store: Store) {
    this.local = store instanceof LocalStore ? store : undefined;
  }

  private needLocal(what: string): LocalStore {
    if (!this.local) throw failedPrecondition('ERR_NO_METADATA', `${what} needs the store's root on this machine (the content service serves a remote store)`, {});
    return this.local;
  }

  exists(digest: string): Promise<boolean> {
    if (this.local) return this.local.exists(digest);
    return this.store.info(digest).then(
      () => true,
      (err: unknown) => {
        if (isKind(err, 'NotFound')) return false;
        throw err;
      },
    );
  }

  /** Puts `digest` in the lease and says whether it is present, in one read section. */
  async leaseIfPresent(lease: string, digest: string): Promise<boolean> {
    const local = this.needLocal('a lease');
    const here = await protectBlobs(local.trust, { lock: local.lockOptions }, lease, [digest], (d) => local.exists(d));
    return here.has(digest);
  }

  /** Protects a blob about to be committed (or found) under the lease. */
  async leaseContent(lease: string, digest: string): Promise<void> {
    await leaseScope(this.needLocal('a lease'), lease).protect([digest]);
  }

  async leaseIngest(lease: string, ref: string): Promise<void> {
    const local = this.needLocal('a lease');
    await addResources(local.trust, lease, [{ type: INGESTS, id: ref }]);
  }

  async unleaseIngest(lease: string, ref: string): Promise<void> {
    if (!this.local) return;
    await deleteResources(this.local.root, lease, [{ type: INGESTS, id: ref }]).catch(() => {});
  }

  async unleaseContent(lease: string, digest: string): Promise<void> {
    if (!this.local) return;
    await deleteResources(this.local.root, lease, [{ type: CONTENT, id: digest }]).catch(() => {});
  }
}
