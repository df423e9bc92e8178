/**
 * `dist apply [--expected-diff-id D] [--json] DIR < layer` — applies one layer (tar,
 * tar+gzip or tar+zstd, detected) read from stdin to DIR, streaming, and prints its diffID.
 * Not tied to the store: DIR is any directory (created if missing).
 */
import type { Command } from 'commander';
import { mkdir } from 'node:fs/promises';
import { parseDigest } from '../../digest.js';
import { action, interruptible, printJson } from '../context.js';
import { stdinStream } from '../stdin.js';

interface Opts {
  expectedDiffId?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('apply')
    .summary('apply a layer tarball (tar, gzip or zstd) from stdin to a directory')
    .description(
      'Applies the layer on stdin to DIR: OCI whiteouts, hard links, symlinks, modes, mtimes; owners and device nodes when run as root (device nodes are skipped with a warning otherwise). Entries that would escape DIR are refused. Prints the diffID (sha256 of the uncompressed tar).',
    )
    .argument('<dir>', 'target directory (created if missing)')
    .option('--expected-diff-id <digest>', 'fail (exit 9) unless the uncompressed layer has this digest')
    .option('--json', 'JSON output: diffId, size, compression, entries, warnings')
    .addHelpText('after', '\nExamples:\n  dist apply rootfs < layer.tar.gz\n  dist cat sha256:… | dist apply --expected-diff-id sha256:… rootfs')
    .action(
      action(async (dir: string, opts: Opts) => {
        const expectedDiffId = opts.expectedDiffId !== undefined ? parseDigest(opts.expectedDiffId).digest : undefined;
        const { applyLayer } = await import('../../archive/apply.js');
        const controller = interruptible();
        await mkdir(dir, { recursive: true });
        const r = await applyLayer(dir, stdinStream(), {
          expectedDiffId,
          signal: controller.signal,
          onWarning: (m) => process.stderr.write(`dist: warning: ${m}\n`),
        });
        if (opts.json) printJson(r);
        else process.stdout.write(`${r.diffId}\n`);
      }),
    );
}
