/**
 * The store root doubles as an OCI image layout: blobs already live at
 * `<root>/blobs/<alg>/<hex>`, so the layout only adds `oci-layout` and `index.json`.
 * (skopeo and umoci ignore the store's other entries, e.g. `ingest/`; tested.)
 */
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dataLoss, wrapSystemError } from '../errors.js';

export const LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
export const LAYOUT_VERSION = '1.0.0';

/**
 * Writes `oci-layout` if absent. Racing processes are harmless: each writes a private temp
 * file and link()s it into place, which never replaces an existing file.
 */
export async function ensureLayout(root: string): Promise<void> {
  const target = join(root, LAYOUT_FILE);
  try {
    const v = JSON.parse(await readFile(target, 'utf8')) as { imageLayoutVersion?: string };
    if (typeof v.imageLayoutVersion !== 'string') throw new Error('no imageLayoutVersion');
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw dataLoss('ERR_BAD_LAYOUT', `${target} is not a valid OCI layout file: ${(err as Error).message}`, { path: target });
    }
  }
  try {
    await mkdir(root, { recursive: true });
    const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }) + '\n', { mode: 0o644 });
    try {
      await link(tmp, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await rm(tmp, { force: true });
    }
  } catch (err) {
    throw wrapSystemError(err, `writing ${target}`, { path: target });
  }
}
