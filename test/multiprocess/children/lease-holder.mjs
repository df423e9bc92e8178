// Holds a process-bound lease (withLease) over one ingested blob until killed.
// CK_ARGS: {root, content}. Prints `ready {lease, digest}`.
import { args, guard, lib, print } from './common.mjs';

guard();
const { withLease } = await import(new URL('../../../dist/src/metadata/with-lease.js', import.meta.url).href);
const store = lib.openStore(args.root);
await withLease(store, async (lease) => {
  const r = await lib.writeBlob(store, 'held', [Buffer.from(args.content)], { protect: (d) => lease.protect([d]) });
  print('ready', { lease: lease.id, digest: r.digest });
  await new Promise(() => setInterval(() => {}, 1 << 30)); // until killed
});
