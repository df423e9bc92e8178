/**
 * Observability through node:diagnostics_channel: free when nobody subscribes.
 * Subscribe with `diagnostics_channel.subscribe('containerkit:ingest:commit', fn)`.
 */
import { channel } from 'node:diagnostics_channel';

export const diag = {
  ingestOpen: channel('containerkit:ingest:open'),
  ingestCheckpoint: channel('containerkit:ingest:checkpoint'),
  ingestCommit: channel('containerkit:ingest:commit'),
  ingestResume: channel('containerkit:ingest:resume'),
  /** An ingest moved to new files because its last writer may still be alive. */
  ingestFence: channel('containerkit:ingest:fence'),
  /** A resumed ingest's data did not match its checkpoint: the ingest was reset. */
  ingestCorrupt: channel('containerkit:ingest:corrupt'),
  lockContend: channel('containerkit:lock:contend'),
  lockTakeover: channel('containerkit:lock:takeover'),
  lockCompromised: channel('containerkit:lock:compromised'),
};
