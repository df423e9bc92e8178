/**
 * containerd.services.leases.v1.Leases over the root's on-disk leases (src/metadata/leases.ts),
 * which every process on the root shares. containerd's `containerd.io/gc.expire` label (an
 * RFC 3339 time, set by clients such as `ctr content fetch`) becomes the lease's expiry.
 * Content put in a lease is put in the collector's read section (leaseScope().protect), so a
 * blob reported present stays present while the lease lives. `sync` on Delete collects
 * garbage before answering (with the collector's usual grace period).
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { invalidArgument } from '../../errors.js';
import type { LocalStore } from '../../local/store.js';
import { collectGarbage } from '../../metadata/gc.js';
import { addResources, CONTENT, createLease, deleteLease, deleteResources, listLeases, listResources, type Lease, type Resource } from '../../metadata/leases.js';
import { leaseScope } from '../../metadata/with-lease.js';
import { unary, type MetadataCtor } from '../call.js';
import { toTimestamp } from '../convert.js';
import { mapField, parseFilters } from '../filters.js';
import type { Labels, WireLease, WireResource } from '../messages.js';

export const GC_EXPIRE = 'containerd.io/gc.expire';

function toWire(l: Lease): WireLease {
  return { id: l.id, createdAt: toTimestamp(l.createdAt), labels: l.labels };
}

/** Lifetime from the expiry label, if there is one (InvalidArgument if it is not a time). */
function expireMs(labels: Labels): number | undefined {
  const v = labels[GC_EXPIRE];
  if (v === undefined) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) throw invalidArgument('ERR_INVALID_EXPIRE', `label ${GC_EXPIRE}=${JSON.stringify(v)} is not an RFC 3339 time`, { actual: v });
  return Math.max(1, at - Date.now());
}

function resource(r: WireResource | undefined): Resource {
  if (!r?.type || !r.id) throw invalidArgument('ERR_INVALID_RESOURCE', 'a lease resource needs a type and an id', {});
  return { type: r.type, id: r.id };
}

export function leasesService(store: LocalStore, Md: MetadataCtor): UntypedServiceImplementation {
  const root = store.root;
  return {
    Create: unary(Md, 'Leases.Create', async (req: { id?: string; labels?: Labels }) => {
      const labels = { ...(req.labels ?? {}) };
      const lease = await createLease(store.trust, { ...(req.id ? { id: req.id } : {}), labels, expireMs: expireMs(labels) });
      return { lease: toWire(lease) };
    }),
    Delete: unary(Md, 'Leases.Delete', async (req: { id?: string; sync?: boolean }) => {
      await deleteLease(root, req.id ?? '');
      if (req.sync) await collectGarbage(store);
      return {};
    }),
    List: unary(Md, 'Leases.List', async (req: { filters?: string[] }) => {
      const match = parseFilters(req.filters);
      const leases = (await listLeases(root)).filter((l) =>
        match((p) => (p[0] === 'id' && p.length === 1 ? l.id : p[0] === 'labels' ? mapField(p.slice(1), l.labels) : undefined)),
      );
      return { leases: leases.map(toWire) };
    }),
    AddResource: unary(Md, 'Leases.AddResource', async (req: { id?: string; resource?: WireResource }) => {
      const r = resource(req.resource);
      const id = req.id ?? '';
      // NotFound when the lease is absent.
      if (r.type === CONTENT) await leaseScope(store, id).protect([r.id]);
      else await addResources(store.trust, id, [r]);
      return {};
    }),
    DeleteResource: unary(Md, 'Leases.DeleteResource', async (req: { id?: string; resource?: WireResource }) => {
      await deleteResources(root, req.id ?? '', [resource(req.resource)]);
      return {};
    }),
    ListResources: unary(Md, 'Leases.ListResources', async (req: { id?: string }) => ({ resources: await listResources(root, req.id ?? '') })),
  };
}
