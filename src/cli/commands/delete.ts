import type { Command } from 'commander';
import { action, expandDash, reportError, withStore } from '../context.js';

export function register(program: Command): void {
  program
    .command('delete')
    .alias('rm')
    .summary('delete blobs')
    .argument('<digest...>', 'digests (- reads them from stdin)')
    .addHelpText('after', '\nExamples:\n  dist delete sha256:…\n  dist list -q | dist delete -')
    .action(
      action(async (digests: string[], _opts: object, cmd: Command) =>
        withStore(cmd, 'read', async (store) => {
          let code = 0;
          for (const d of await expandDash(digests)) {
            try {
              await store.delete(d);
            } catch (err) {
              code = reportError(err);
            }
          }
          return code;
        }),
      ),
    );
}
