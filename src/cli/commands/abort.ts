import type { Command } from 'commander';
import { action, reportError, withStore } from '../context.js';

export function register(program: Command): void {
  program
    .command('abort')
    .summary('discard ingests (fails for a ref held by another process)')
    .argument('<ref...>', 'ingest refs')
    .action(
      action(async (refs: string[], opts: { force?: boolean }, cmd: Command) =>
        withStore(cmd, 'read', async (store) => {
          let code = 0;
          for (const r of refs) {
            try {
              await store.abort(r, { force: opts.force });
            } catch (err) {
              code = reportError(err);
            }
          }
          return code;
        }),
      ),
    );
}
