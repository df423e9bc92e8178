/**
 * `dist copy [--plain-http] [--src-user U[:P]] [--dest-user U[:P]] [--platform P | --all-platforms]
 * [-j N] [--json] SRC DST` — copies an image between registries through the store: `pull SRC`
 * (each blob downloaded once, verified, kept in the store and named SRC in index.json), then
 * `push SRC DST` (each blob uploaded once, verified as it is sent; on the same registry, a
 * mount from SRC's repository). Interrupted, a rerun resumes either half.
 */
import type { Command } from 'commander';
import { DEFAULT_CONCURRENCY } from '../../remote/defaults.js';
import { hostPlatform } from '../../remote/platform.js';
import { action } from '../context.js';
import { countOption } from '../options.js';

export interface CopyOpts {
  plainHttp?: boolean;
  srcUser?: string;
  destUser?: string;
  platform?: string;
  allPlatforms?: boolean;
  concurrency: number;
  json?: boolean;
}

export function register(program: Command): void {
  const host = hostPlatform();
  program
    .command('copy')
    .summary('copy an image from one registry to another through the store (pull, then push)')
    .argument('<src>', 'SRC[:TAG|@DIGEST], e.g. 127.0.0.1:5000/library/busybox:latest')
    .argument('<dst>', 'DST[:TAG] (without a tag, SRC\'s tag)')
    .option('--plain-http', 'use http:// on both sides (local registries)')
    .option('--src-user <user[:pass]>', 'Basic credentials for SRC (default: ~/.docker/config.json auths)')
    .option('--dest-user <user[:pass]>', 'Basic credentials for DST (default: ~/.docker/config.json auths)')
    .option('--platform <os/arch[/variant]>', `platform to pick from an index (default ${host.os}/${host.architecture}${host.variant ? `/${host.variant}` : ''})`)
    .option('--all-platforms', 'copy the whole index')
    .option('-j, --concurrency <n>', 'blobs moved at once, 1 to 64', countOption('--concurrency', 64), DEFAULT_CONCURRENCY)
    .option('--json', 'NDJSON progress events on stdout (the pull\'s, then the push\'s)')
    .action(
      action(async (src: string, dst: string, opts: CopyOpts, cmd: Command) => {
        const { runCopy } = await import('./copy-run.js');
        await runCopy(src, dst, opts, cmd);
      }),
    );
}
