import type { Command } from 'commander';
import type { Info } from '../../content/types.js';
import { parseAlgorithm } from '../../digest.js';
import { action, printJson, table, withStore } from '../context.js';
import { formatBytes, formatDuration } from '../duration.js';

export function register(program: Command): void {
  program
    .command('list')
    .alias('ls')
    .summary('list committed blobs')
    .description('Lists committed blobs: DIGEST SIZE AGE.')
    .option('-q, --quiet', 'print digests only')
    .option('--json', 'print JSON')
    .option('--algorithm <alg>', 'only this algorithm (sha256, sha512, blake3)')
    .option('--prefix <prefix>', 'only digests starting with this prefix')
    .addHelpText('after', '\nExamples:\n  dist list -q | xargs dist delete\n  dist list --json | jq ".[].size"')
    .action(
      action(async (opts: { quiet?: boolean; json?: boolean; algorithm?: string; prefix?: string }, cmd: Command) =>
        withStore(cmd, async (store) => {
          const filter = { algorithm: opts.algorithm ? parseAlgorithm(opts.algorithm) : undefined, prefix: opts.prefix };
          if (opts.quiet) {
            for await (const i of store.walk(filter)) process.stdout.write(`${i.digest}\n`);
            return;
          }
          const all: Info[] = [];
          for await (const i of store.walk(filter)) all.push(i);
          all.sort((a, b) => a.digest.localeCompare(b.digest));
          if (opts.json) return printJson(all.map((i) => ({ digest: i.digest, size: i.size, createdAt: i.createdAt.toISOString() })));
          const now = Date.now();
          process.stdout.write(
            table([['DIGEST', 'SIZE', 'AGE'], ...all.map((i) => [i.digest, formatBytes(i.size), formatDuration(now - i.createdAt.getTime())])]),
          );
        }),
      ),
    );
}
