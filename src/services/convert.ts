/** Conversions between the store's values and wire messages (./messages.ts). */
import type { Info, IngestState, Status } from '../content/types.js';
import type { Timestamp, WireInfo, WireStatus } from './messages.js';

export function toTimestamp(d: Date | number): Timestamp {
  const ms = typeof d === 'number' ? d : d.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** A wire time as a Date (the epoch when absent, as Go's zero time would be meaningless here). */
export function fromTimestamp(t: Timestamp | undefined): Date {
  return new Date((t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6));
}

export function infoToWire(i: Info): WireInfo {
  // A blob never changes after its commit except for its labels, whose time is not kept:
  // updatedAt is the commit time, as for a blob containerd never relabelled.
  return { digest: i.digest, size: i.size, createdAt: toTimestamp(i.createdAt), updatedAt: toTimestamp(i.createdAt), labels: i.labels ?? {} };
}

export function infoFromWire(w: WireInfo | undefined): Info {
  return { digest: w?.digest ?? '', size: w?.size ?? 0, createdAt: fromTimestamp(w?.createdAt), labels: { ...(w?.labels ?? {}) } };
}

export function statusToWire(s: Status): WireStatus {
  return {
    startedAt: toTimestamp(s.startedAt),
    updatedAt: toTimestamp(s.updatedAt),
    ref: s.ref,
    offset: s.offset,
    ...(s.total !== undefined ? { total: s.total } : {}),
    ...(s.expected ? { expected: s.expected } : {}),
    ...(s.state ? { state: s.state } : {}),
    ...(s.owner ? { owner: { ...s.owner } } : {}),
    ...(s.lockAgeMs !== undefined ? { lockAgeMs: Math.round(s.lockAgeMs) } : {}),
    ...(s.heartbeatAgeMs !== undefined ? { heartbeatAgeMs: Math.round(s.heartbeatAgeMs) } : {}),
    ...(s.key ? { key: s.key } : {}),
    ...(s.damaged ? { damaged: true } : {}),
  };
}

const STATES = new Set<IngestState>(['active', 'stalled', 'idle', 'stale']);

export function statusFromWire(w: WireStatus): Status {
  const o = w.owner;
  return {
    ref: w.ref ?? '',
    offset: w.offset ?? 0,
    ...(w.total !== undefined ? { total: w.total } : {}),
    ...(w.expected ? { expected: w.expected } : {}),
    startedAt: fromTimestamp(w.startedAt),
    updatedAt: fromTimestamp(w.updatedAt),
    ...(o && typeof o.pid === 'number' && typeof o.host === 'string'
      ? {
          owner: {
            pid: o.pid,
            host: o.host,
            ...(o.bootId ? { bootId: o.bootId } : {}),
            ...(o.startTicks !== undefined ? { startTicks: o.startTicks } : {}),
            ...(o.pidNs ? { pidNs: o.pidNs } : {}),
          },
        }
      : {}),
    ...(w.state && STATES.has(w.state as IngestState) ? { state: w.state as IngestState } : {}),
    ...(w.lockAgeMs !== undefined ? { lockAgeMs: w.lockAgeMs } : {}),
    ...(w.heartbeatAgeMs !== undefined ? { heartbeatAgeMs: w.heartbeatAgeMs } : {}),
    ...(w.key ? { key: w.key } : {}),
    ...(w.damaged ? { damaged: true } : {}),
  };
}
