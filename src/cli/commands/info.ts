import type { Command } from 'commander';
import type { Info } from '../../content/types.js';
import { action, expandDash, printJson, reportError, table, withContentStore } from '../context.js';
import { formatBytes, formatDuration } from '../duration.js';

export function register(program: Command): void {
  program
    .command('info')
    .summary('show size, age and labels of blobs')
    .description('Shows DIGEST, SIZE (KiB, MiB…), AGE and LABELS (k=v,…) of each blob, as `list` does; --json gives exact sizes in bytes, ISO times and the labels.')
    .argument('<digest...>', 'digests (- reads them from stdin)')
    .option('--json', 'print JSON')
    .action(
      action(async (digests: string[], opts: { json?: boolean }, cmd: Command) =>
        withContentStore(cmd, 'read', async (store) => {
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
          const labelText = (l: Record<string, string> = {}) => Object.entries(l).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join(',') || '-';
          if (opts.json) printJson(found.map((i) => ({ digest: i.digest, size: i.size, createdAt: i.createdAt.toISOString(), labels: i.labels ?? {} })));
          else if (found.length)
            process.stdout.write(
              table([['DIGEST', 'SIZE', 'AGE', 'LABELS'], ...found.map((i) => [i.digest, formatBytes(i.size), formatDuration(now - i.createdAt.getTime()), labelText(i.labels)])]),
            );
          return code;
        }),
      ),
    );
}
