import type { Command } from 'commander';
import { action, expandDash, reportError, withContentStore } from '../context.js';
import { parseDigest } from '../../digest.js';
import { failedPrecondition } from '../../errors.js';

export function register(program: Command): void {
  program
    .command('delete')
    .alias('rm')
    .summary('delete blobs (refusing referenced ones unless --force)')
    .description(
      'Deletes each blob. A blob something still references — a name in index.json (through its manifests), a live lease, a ' +
        'containerd.io/gc.root or gc.ref label, an ingest in progress — is refused (exit 6, naming one referrer) unless --force. ' +
        '`dist gc` removes every unreferenced blob at once.',
    )
    .argument('<digest...>', 'digests (- reads them from stdin)')
    .option('--force', 'delete even a referenced blob (the images using it become incomplete)')
    .addHelpText('after', '\nExamples:\n  dist delete sha256:…\n  dist list -q | dist delete -')
    .action(
      action(async (digests: string[], opts: { force?: boolean }, cmd: Command) =>
        withContentStore(cmd, 'read', async (_store, target) => {
          let code = 0;
          const all = await expandDash(digests);
          if (target.kind === 'remote') {
            // The server checks referrers on its root (same rule, same exclusive section).
            for (const d of all) {
              try {
                await target.store.delete(d, { refuseReferenced: !opts.force });
              } catch (err) {
                code = reportError(err);
              }
            }
            return code;
          }
          const store = target.store;
          const remove = async (referrer?: (d: string) => string | undefined) => {
            for (const d of all) {
              try {
                const by = referrer?.(parseDigest(d).digest);
                if (by) throw failedPrecondition('ERR_BLOB_REFERENCED', `${d} is referenced by ${by}: not deleted (--force deletes it anyway)`, { digest: d });
                await store.delete(d);
              } catch (err) {
                code = reportError(err);
              }
            }
          };
          if (opts.force) await remove();
          else {
            // In the collector's exclusive section: nothing can start relying on a blob
            // between the check and the deletion.
            const { withReferrers } = await import('../../metadata/gc.js');
            await withReferrers(store, remove);
          }
          return code;
        }),
      ),
    );
}
