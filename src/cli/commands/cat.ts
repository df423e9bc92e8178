import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { action, withContentStore } from '../context.js';
import { intOption } from '../options.js';

export function register(program: Command): void {
  program
    .command('cat')
    .summary('write a blob (or a byte range of it) to stdout')
    .argument('<digest>', 'digest of the blob')
    .option('--offset <n>', 'start at this byte', intOption('--offset'))
    .option('--length <n>', 'write at most this many bytes', intOption('--length'))
    .action(
      action(async (digest: string, opts: { offset?: number; length?: number }, cmd: Command) =>
        withContentStore(cmd, 'read', async (store) => {
          const info = await store.info(digest);
          const start = opts.offset ?? 0;
          const end = opts.length !== undefined ? start + opts.length - 1 : undefined;
          if (start >= info.size || end === start - 1) return; // empty range
          await pipeline(await store.createReadStream(digest, { start, end }), process.stdout, { end: false });
        }),
      ),
    );
}
