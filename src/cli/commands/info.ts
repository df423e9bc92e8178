import type { Command } from 'commander';
import type { Info } from '../../content/types.js';
import { action, expandDash, printJson, reportError, table, withStore } from '../context.js';
import { formatBytes, formatDuration } from '../duration.js';

export function register(program: Command): void {
  program
    .command('info')
    .summary('show size and age of blobs')
    .description('Shows DIGEST, SIZE (KiB, MiB…) and AGE of each blob, as `list` does; --json gives exact sizes in bytes and ISO times.')
    .argument('<digest...>', 'digests (- reads them from stdin)')
    .option('--json', 'print JSON')
    .action(
      action(async (digests: string[], opts: { json?: boolean }, cmd: Command) =>
        withStore(cmd, 'read', async (store) => {
          const found: Info[] = [];
          let code = 0;
          for (const d of await expandDash(digests)) {
            try {
              found.push(await store.info(d));
            } catch (err) {
              code = reportError(err);
            }
          }
          const now = Date.now();
          if (opts.json) printJson(found.map((i) => ({ digest: i.digest, size: i.size, createdAt: i.createdAt.toISOString() })));
          else if (found.length)
            process.stdout.write(table([['DIGEST', 'SIZE', 'AGE'], ...found.map((i) => [i.digest, formatBytes(i.size), formatDuration(now - i.createdAt.getTime())])]));
          return code;
        }),
      ),
    );
}
