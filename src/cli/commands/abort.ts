import type { Command } from 'commander';
import { action, reportError, withContentStore } from '../context.js';

export function register(program: Command): void {
  program
    .command('abort')
    .summary('discard ingests (fails for a ref held by another process, unless --force)')
    .description(
      'Discards the partial data of each REF. A ref held by another process is refused (exit 5), unless --force: then its ingest is removed from under the holder — for a holder that is stopped or hung (`dist active` shows it as stalled). The holder keeps writing only into files nobody will publish, and its commit fails (LockCompromised, exit 8).',
    )
    .argument('<ref...>', 'ingest refs')
    .option('--force', 'take the ref from a live holder (stalled, stopped or hung) and discard its ingest')
    .action(
      action(async (refs: string[], opts: { force?: boolean }, cmd: Command) =>
        withContentStore(cmd, 'read', async (_store, target) => {
          let code = 0;
          for (const r of refs) {
            try {
              await target.store.abort(r, { force: opts.force });
            } catch (err) {
              code = reportError(err);
            }
          }
          return code;
        }),
      ),
    );
}
