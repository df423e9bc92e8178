/**
 * `dist images [--json]` — names recorded in the root's OCI index.json (by `dist pull`,
 * or by any tool writing the layout, e.g. `skopeo copy … oci:ROOT:NAME`), with the digest
 * each points at and the image's size in the store. Entries that are not valid image
 * descriptors are skipped with a warning on stderr naming each; the rest are listed.
 */
import type { Command } from 'commander';
import { formatBytes } from '../duration.js';
import { listImages, removeImages, type ImageRecord } from '../../oci/images.js';
import { notFound } from '../../errors.js';
import { describeBadEntry } from '../../oci/index-entry.js';
import { imageUsage } from '../../oci/usage.js';
import { action, printJson, reportError, table, withContentStore } from '../context.js';
import { escapeControls } from '../escape.js';

export function register(program: Command): void {
  const images = program
    .command('images')
    .summary('list image names with their manifest digest, size and whether every blob is present')
    .option('--json', 'JSON array output')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) =>
        withContentStore(cmd, 'read', async (store, target) => {
          let records: ImageRecord[];
          if (target.kind === 'remote') {
            const { listRemoteImages } = await import('../../remote-store/images.js');
            records = await listRemoteImages(target.store);
          } else {
            const listed = await listImages(store.root);
            records = listed.images;
            for (const b of listed.bad) process.stderr.write(`dist: warning: ${escapeControls(describeBadEntry(b, 'skipped'))}\n`);
          }
          const rows = [];
          for (const r of records) {
            const u = await imageUsage(store, r);
            const platform = r.platform ? `${r.platform.os}/${r.platform.architecture}${r.platform.variant ? `/${r.platform.variant}` : ''}` : undefined;
            rows.push({ ...r, platform, manifestSize: r.size, size: u.size, missing: u.missing, complete: u.missing === 0 });
          }
          if (opts.json) return printJson(rows);
          process.stdout.write(
            table([
              ['NAME', 'DIGEST', 'SIZE', 'PLATFORM', 'STATUS'],
              ...rows.map((r) => [r.name, r.digest, formatBytes(r.size), r.platform ?? '-', r.missing ? `${r.missing} missing` : 'complete']),
            ]),
          );
        }),
      ),
    );
  images
    .command('rm')
    .alias('delete')
    .summary('remove image names (their blobs stay until `dist gc`)')
    .argument('<name...>', 'names as `dist images` shows them')
    .action(
      action(async (names: string[], _opts: object, cmd: Command) =>
        withContentStore(cmd, 'read', async (store, target) => {
          let code = 0;
          if (target.kind === 'remote') {
            const { removeRemoteImage } = await import('../../remote-store/images.js');
            for (const n of names) await removeRemoteImage(target.store, n).catch((err) => (code = reportError(err)));
            return code;
          }
          const { removed } = await removeImages(store.root, names);
          for (const n of names) {
            if (!removed.includes(n)) code = reportError(notFound('ERR_IMAGE_NOT_FOUND', `no image named ${JSON.stringify(n)}`, { actual: n }));
          }
          return code;
        }),
      ),
    );
}
