import type { Command } from 'commander';
import type { Info } from '../../content/types.js';
import { action, expandDash, printJson, reportError, table, withStore } from '../context.js';

export function register(program: Command): void {
  program
    .command('info')
    .summary('show size and creation time of blobs')
    .argument('<digest...>', 'digests (- reads them from stdin)')
    .option('--json', 'print JSON')
    .action(
      action(async (digests: string[], opts: { json?: boolean }, cmd: Command) =>
        withStore(cmd, async (store) => {
          const found: Info[] = [];
          let code = 0;
          for (const d of await expandDash(digests)) {
            try {
              found.push(await store.info(d));
            } catch (err) {
              code = reportError(err);
            }
          }
          if (opts.json) printJson(found.map((i) => ({ digest: i.digest, size: i.size, createdAt: i.createdAt.toISOString() })));
          else if (found.length)
            process.stdout.write(table([['DIGEST', 'SIZE', 'CREATED'], ...found.map((i) => [i.digest, String(i.size), i.createdAt.toISOString()])]));
          return code;
        }),
      ),
    );
}
