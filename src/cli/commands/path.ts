import type { Command } from 'commander';
import { action, expandDash, reportError, table, withStore } from '../context.js';
import { displayField } from '../escape.js';

export function register(program: Command): void {
  program
    .command('path')
    .summary('print the filesystem path of blobs')
    .argument('<digest...>', 'digests (- reads them from stdin)')
    .option('-q, --quiet', 'print paths only')
    .action(
      action(async (digests: string[], opts: { quiet?: boolean }, cmd: Command) =>
        withStore(cmd, 'read', async (store) => {
          const rows: string[][] = [];
          let code = 0;
          for (const d of await expandDash(digests)) {
            try {
              rows.push([d, await store.path(d)]);
            } catch (err) {
              code = reportError(err);
            }
          }
          process.stdout.write(opts.quiet ? rows.map((r) => `${displayField(r[1]!)}\n`).join('') : table(rows));
          return code;
        }),
      ),
    );
}
