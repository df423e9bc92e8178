/**
 * `dist push [--plain-http] [--user U[:P]] [-j N] [--json] NAME[:TAG|@DIGEST] [REMOTE[:TAG]]`
 * — pushes a stored image or index and everything it references to a registry (see
 * src/remote/push.ts): blobs the repository has are skipped, blobs in a sibling repository
 * mounted, large blobs sent in segments whose upload URL is recorded under the root so a
 * rerun (any process) continues where the registry says it stopped. SIGINT/SIGTERM end the
 * segments in flight cleanly, record them, and exit 130.
 */
import type { Command } from 'commander';
import { DEFAULT_PUSH_CONCURRENCY } from '../../remote/defaults.js';
import { action } from '../context.js';
import { countOption } from '../options.js';

export interface PushOpts {
  plainHttp?: boolean;
  user?: string;
  concurrency: number;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('push')
    .summary('push an image (manifest or index, configs, layers) from the store to a registry')
    .argument('<name>', 'a stored image: NAME[:TAG|@DIGEST] as `dist images` lists it, or a manifest digest')
    .argument('[remote]', 'REMOTE[:TAG] to push to (default: NAME itself; without a tag, NAME\'s tag)')
    .option('--plain-http', 'use http:// (local registries)')
    .option('-u, --user <user[:pass]>', 'Basic credentials (default: ~/.docker/config.json auths)')
    .option('-j, --concurrency <n>', 'blobs uploaded at once, 1 to 64', countOption('--concurrency', 64), DEFAULT_PUSH_CONCURRENCY)
    .option('--json', 'NDJSON progress events on stdout')
    .action(
      action(async (name: string, remote: string | undefined, opts: PushOpts, cmd: Command) => {
        const { runPush } = await import('./push-run.js');
        await runPush(name, remote, opts, cmd);
      }),
    );
}
