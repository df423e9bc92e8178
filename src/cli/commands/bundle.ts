/**
 * `dist bundle NAME DIR [--platform P] [--snapshotter naive|overlay] [--json]` — unpacks the
 * image (if needed) and writes an OCI runtime bundle: DIR/rootfs and DIR/config.json.
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
    .command('bundle')
    .summary('make an OCI runtime bundle (rootfs + config.json) from a pulled image')
    .description(
      'Unpacks image NAME and writes DIR/config.json (runtime-spec 1.0.2: args, env, cwd and user from the image config) and DIR/rootfs. With the overlay snapshotter the rootfs is an overlay mount of a new snapshot `bundle DIR` (tear down with `dist snapshots rm "bundle DIR"`, which unmounts); with naive it is a plain copy.',
    )
    .argument('<name>', 'image name or manifest digest')
    .argument('<dir>', 'bundle directory (created if missing; its rootfs must be absent or empty)')
    .option('--platform <os/arch[/variant]>', 'platform to pick from an index (default: this host)')
    .option('--snapshotter <driver>', SNAPSHOTTER_HELP)
    .option('--json', 'JSON output')
    .addHelpText('after', '\nExample:\n  dist bundle 127.0.0.1:5000/library/app:1.0 /run/app && runc run -b /run/app app')
    .action(
      action(async (name: string, dir: string, opts: Opts, cmd: Command) => {
        const platform = opts.platform !== undefined ? parsePlatform(opts.platform) : undefined;
        const [{ resolveImage }, { createBundle }] = await Promise.all([import('../../oci/resolve-image.js'), import('../../snapshots/bundle.js')]);
        const sn = await snapshotterOf(cmd);
        const controller = interruptible();
        await withStore(cmd, 'read', async (store) => {
          const image = await resolveImage(store, name, platform);
          const r = await createBundle(store, sn, image, dir, { signal: controller.signal });
          for (const w of r.unpack.warnings) process.stderr.write(`dist: warning: ${w}\n`);
          if (opts.json) return printJson({ name: image.name, manifest: image.manifestDigest, ...r });
          const how = r.key ? `overlay mount of snapshot "${r.key}"` : `copy of snapshot ${r.chainId}`;
          process.stdout.write(`${r.dir}: config.json, rootfs (${how})\n`);
        });
      }),
    );
}
