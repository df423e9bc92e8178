/**
 * `dist pull [--plain-http] [--platform os/arch[/variant]] [--all-platforms] [-j N] NAME[:TAG|@DIGEST]`
 * — fetches an image into the store (see src/remote/pull.ts) and records NAME in the
 * root's OCI index.json. SIGINT/SIGTERM close every writer, keeping partial layers for the
 * next run (which resumes them with Range requests), and exit 130.
 *
 * Hashing defaults to native (OpenSSL) here, unlike `ingest`: a pull is bound by the store's
 * hashing (hash-wasm SHA-256 ~190 MB/s per core vs OpenSSL ~900 MB/s, measured on the 2-core
 * dev box; bench/pull.ts), and what native gives up — checkpointed hash state — only costs a
 * re-hash of a partial layer's bytes at OpenSSL speed when an interrupted pull resumes, far
 * less than downloading them. `--hash wasm` restores checkpointed ingests.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { hostPlatform } from '../../remote/platform.js';
import { action } from '../context.js';
import { countOption } from '../options.js';

import { DEFAULT_PULL_CONCURRENCY } from '../../remote/defaults.js';

export interface PullOpts {
  plainHttp?: boolean;
  user?: string;
  platform?: string;
  allPlatforms?: boolean;
  concurrency: number;
  json?: boolean;
  hash: string;
  lease?: string;
}

export function register(program: Command): void {
  const host = hostPlatform();
  program
    .command('pull')
    .summary('fetch an image (manifest, config, layers) from a registry into the store')
    .argument('<name>', 'NAME[:TAG|@DIGEST], e.g. 127.0.0.1:5000/library/busybox:latest')
    .option('--plain-http', 'use http:// (local registries)')
    .option('-u, --user <user[:pass]>', 'Basic credentials (default: ~/.docker/config.json auths)')
    .option('--platform <os/arch[/variant]>', `platform to pick from an index (default ${host.os}/${host.architecture}${host.variant ? `/${host.variant}` : ''})`)
    .option('--all-platforms', 'pull every manifest of an index')
    .option('-j, --concurrency <n>', 'blobs downloaded at once, 1 to 64', countOption('--concurrency', 64), DEFAULT_PULL_CONCURRENCY)
    .option('--json', 'NDJSON progress events on stdout')
    .option('--lease <id>', 'protect the blobs with this existing lease (default: a lease of its own, dropped once the name is recorded)')
    .addOption(
      new Option('--hash <engine>', 'native: OpenSSL, fast, a resumed layer re-hashes its partial data; wasm: hash-wasm in workers, checkpointed')
        .choices(['native', 'wasm'])
        .default('native'),
    )
    .action(
      action(async (name: string, opts: PullOpts, cmd: Command) => {
        const { runPull } = await import('./pull-run.js');
        await runPull(name, opts, cmd);
      }),
    );
}
