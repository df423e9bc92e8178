/**
 * `dist images [--json]` — names recorded in the root's OCI index.json (by `dist pull`,
 * or by any tool writing the layout, e.g. `skopeo copy … oci:ROOT:NAME`), with the digest
 * each points at and the image's size in the store. Entries that are not valid image
 * descriptors are skipped with a warning on stderr naming each; the rest are listed.
 */
import type { Command } from 'commander';
import { formatBytes } from '../duration.js';
import { listImages, removeImages } from '../../oci/images.js';
import { notFound } from '../../errors.js';
import { describeBadEntry } from '../../oci/index-entry.js';
import { imageUsage } from '../../oci/usage.js';
import { action, printJson, reportError, table, withStore } from '../context.js';
import { escapeControls } from '../escape.js';

export function register(program: Command): void {
  const images = program
    .command('images')
    .summary('list image names with their manifest digest, size and whether every blob is present')
    .option('--json', 'JSON array output')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) =>
        withStore(cmd, 'read', async (store) => {
          const { images: records, bad } = await listImages(store.root);
          for (const b of bad) process.stderr.write(`dist: warning: ${escapeControls(describeBadEntry(b, 'skipped'))}\n`);
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
        withStore(cmd, 'read', async (store) => {
          const { removed } = await removeImages(store.root, names);
          let code = 0;
          for (const n of names) {
            if (!removed.includes(n)) code = reportError(notFound('ERR_IMAGE_NOT_FOUND', `no image named ${JSON.stringify(n)}`, { actual: n }));
          }
          return code;
        }),
      ),
    );
}
