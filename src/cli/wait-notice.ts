/**
 * Says once, on a terminal, what a writer is waiting for: the library publishes
 * `containerkit:lock:contend` ({ref, owner}) each time a writer finds its ref held. Without
 * this, `dist ingest` on a held ref looks like a hang. Nothing is printed when stderr is not
 * a terminal (logs and scripts see only results and errors).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Owner } from '../content/types.js';
import type { Store } from '../content/types.js';
import { formatDuration } from './duration.js';
import { escapeControls } from './escape.js';

interface Contend {
  ref: string;
  owner?: Owner;
  ageMs?: number;
}

/** Subscribes for the life of a command; returns the unsubscribe function. */
export function announceWaits(store: Pick<Store, 'status'>, limitMs: number | undefined, stream: NodeJS.WriteStream = process.stderr): () => void {
  if (!stream.isTTY) return () => {};
  const told = new Set<string>();
  const onContend = (message: unknown) => {
    const { ref, owner, ageMs } = message as Contend;
    if (told.has(ref)) return;
    told.add(ref);
    // The lock's age is in the status listing when the message does not carry it.
    const age = ageMs !== undefined ? Promise.resolve(ageMs) : store.status(ref).then((s) => s.lockAgeMs, () => undefined);
    void age.then((ms) => {
      const holder = owner ? `pid ${owner.pid}@${owner.host}` : 'another process';
      const since = ms !== undefined ? ` for ${formatDuration(ms)}` : '';
      const until = limitMs !== undefined ? `up to ${formatDuration(limitMs)}` : 'until it is released';
      stream.write(escapeControls(`waiting for ref ${JSON.stringify(ref)}, held by ${holder}${since}; waiting ${until} (--no-wait fails at once)`) + '\n');
    });
  };
  subscribe('containerkit:lock:contend', onContend);
  return () => unsubscribe('containerkit:lock:contend', onContend);
}
