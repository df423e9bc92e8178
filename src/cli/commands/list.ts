import type { Command } from 'commander';
import type { Info } from '../../content/types.js';
import type { Algorithm } from '../../digest.js';
import { action, printJson, table, withContentStore } from '../context.js';
import { formatBytes, formatDuration } from '../duration.js';
import { algorithmOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('list')
    .alias('ls')
    .summary('list committed blobs')
    .description(
      'Lists committed blobs sorted by digest: DIGEST, SIZE (KiB, MiB…) and AGE. -q prints the digests only, in the same order; --json gives exact sizes in bytes and ISO times.',
    )
    .option('-q, --quiet', 'print digests only')
    .option('--json', 'print JSON')
    .option('--algorithm <alg>', 'only this algorithm (sha256, sha512, blake3)', algorithmOption)
    .option('--prefix <prefix>', 'only digests starting with this prefix')
    .addHelpText('after', '\nExamples:\n  dist list -q | xargs dist delete\n  dist list --json | jq ".[].size"')
    .action(
      action(async (opts: { quiet?: boolean; json?: boolean; algorithm?: Algorithm; prefix?: string }, cmd: Command) =>
        withContentStore(cmd, 'read', async (store) => {
          const all: Info[] = [];
          for await (const i of store.walk({ algorithm: opts.algorithm, prefix: opts.prefix })) all.push(i);
          all.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
          if (opts.quiet) return void process.stdout.write(all.map((i) => `${i.digest}\n`).join(''));
          if (opts.json) return printJson(all.map((i) => ({ digest: i.digest, size: i.size, createdAt: i.createdAt.toISOString() })));
          const now = Date.now();
          process.stdout.write(
            table([['DIGEST', 'SIZE', 'AGE'], ...all.map((i) => [i.digest, formatBytes(i.size), formatDuration(now - i.createdAt.getTime())])]),
          );
        }),
      ),
    );
}
