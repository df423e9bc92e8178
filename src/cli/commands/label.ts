/**
 * `dist label DIGEST key=value key=` — sets labels (`key=` removes one), as `ctr content
 * label` does; prints the blob's labels after the change. Only the keys named change.
 */
import type { Command } from 'commander';
import { invalidArgument } from '../../errors.js';
import { digestOption } from '../options.js';
import { action, printJson, withContentStore } from '../context.js';
import { displayField } from '../escape.js';

export function register(program: Command): void {
  program
    .command('label')
    .summary('set or remove labels on a blob')
    .description(
      'Sets each KEY=VALUE label on DIGEST, or removes KEY given as `KEY=`; other labels are kept. With no KEY=VALUE, prints the labels. ' +
        'containerd.io/gc.root=… keeps the blob from `dist gc`; containerd.io/gc.ref.content.NAME=DIGEST keeps DIGEST while this blob is kept. ' +
        'A label (key and value) is at most 4096 bytes.',
    )
    .argument('<digest>', 'the blob', digestOption)
    .argument('[labels...]', 'KEY=VALUE to set, KEY= to remove')
    .option('--json', 'print the labels as JSON')
    .action(
      action(async (digest: string, pairs: string[], opts: { json?: boolean }, cmd: Command) =>
        withContentStore(cmd, 'read', async (store) => {
          const change: Record<string, string> = {};
          for (const p of pairs) {
            const eq = p.indexOf('=');
            if (eq <= 0) throw invalidArgument('ERR_INVALID_LABELS', `a label must be KEY=VALUE or KEY=, got ${JSON.stringify(p)}`, { actual: p });
            change[p.slice(0, eq)] = p.slice(eq + 1);
          }
          const info = pairs.length ? await store.update(digest, { labels: change }, Object.keys(change).map((k) => `labels.${k}`)) : await store.info(digest);
          const labels = info.labels ?? {};
          if (opts.json) return printJson(labels);
          for (const [k, v] of Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1))) process.stdout.write(`${displayField(k)}=${displayField(v)}\n`);
        }),
      ),
    );
}
