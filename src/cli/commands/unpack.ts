/**
 * `dist unpack NAME [--platform P] [--snapshotter naive|overlay] [--json]` — applies a pulled
 * image's layers into snapshots named by chain ID (shared between images, reused by later
 * unpacks). Safe to run concurrently with itself and with other unpacks of the same image.
 */
import type { Command } from 'commander';
import { parsePlatform } from '../../remote/platform.js';
import { action, interruptible, printJson, withStore } from '../context.js';
import { SNAPSHOTTER_HELP, snapshotterOf } from '../snapshotter-option.js';

interface Opts {
  platform?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('unpack')
    .summary('apply a pulled image into a chain of snapshots')
    .description('Applies each layer of image NAME (a name from `dist images`, or a manifest digest) into a committed snapshot named by its chain ID, checking every diffID. Layers already unpacked, by this image or another, are reused. Prints the top snapshot, which holds the image\'s root file system.')
    .argument('<name>', 'image name or manifest digest')
    .option('--platform <os/arch[/variant]>', 'platform to pick from an index (default: this host)')
    .option('--snapshotter <driver>', SNAPSHOTTER_HELP)
    .option('--json', 'JSON output')
    .action(
      action(async (name: string, opts: Opts, cmd: Command) => {
        const platform = opts.platform !== undefined ? parsePlatform(opts.platform) : undefined;
        const [{ resolveImage }, { unpackImage }] = await Promise.all([import('../../oci/resolve-image.js'), import('../../snapshots/unpack.js')]);
        const sn = await snapshotterOf(cmd);
        const controller = interruptible();
        await withStore(cmd, 'read', async (store) => {
          const image = await resolveImage(store, name, platform);
          const r = await unpackImage(store, sn, image, {
            signal: controller.signal,
            onLayer: (l) => {
              if (!opts.json) process.stdout.write(`${l.state.padEnd(8)} ${l.chainId}  (layer ${l.digest})\n`);
            },
          });
          for (const w of r.warnings) process.stderr.write(`dist: warning: ${w}\n`);
          if (opts.json) printJson({ name: image.name, manifest: image.manifestDigest, snapshotter: sn.driver, ...r });
          else process.stdout.write(`${image.name}: ${r.chainId} (${sn.driver})\n`);
        });
      }),
    );
}
