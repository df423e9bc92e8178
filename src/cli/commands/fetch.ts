/**
 * `dist fetch REMOTE [OBJECT] [mediatype:TYPE]…` — writes a manifest (tag or digest) or a
 * blob (digest) from a registry to stdout, like the seed's `dist fetch`, so
 * `dist fetch R latest | jq -r '.layers[].digest' | xargs -n1 dist fetch R` works.
 *
 * A digest is probed as a manifest first (full Accept list plus the hints; one try) and
 * fetched as a blob when that fails — distribution answers 404 or even 500 for a blob
 * digest on the manifests endpoint, and serves manifests on the blobs endpoint too, so the
 * fallback always yields the right bytes (verified). A hint naming only non-manifest types
 * goes straight to the blob; a manifest hint makes it a manifest fetch with full retries.
 * Manifests are verified before any byte is written. Blobs stream (never buffered); their
 * digest is checked at the end and a mismatch exits DataLoss (9) after the bytes went out —
 * pipe into `dist ingest REF --expected-digest D` when that matters. Dropped connections resume with Range.
 */
import type { Command } from 'commander';
import { invalidArgument, isKind } from '../../errors.js';
import { isDigest } from '../../digest.js';
import { action } from '../context.js';

interface Opts {
  plainHttp?: boolean;
  user?: string;
}

function write(bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(bytes, (err) => (err ? reject(err) : resolve())));
}

export function register(program: Command): void {
  program
    .command('fetch')
    .summary('write a manifest or blob from a registry to stdout')
    .argument('<remote>', 'repository, e.g. 127.0.0.1:5000/library/busybox (may carry :tag or @digest)')
    .argument('[object]', 'tag or digest (default: the one in REMOTE, else latest)')
    .argument('[hints...]', 'mediatype:TYPE hints, sent first in Accept')
    .option('--plain-http', 'use http:// (local registries)')
    .option('-u, --user <user[:pass]>', 'Basic credentials (default: ~/.docker/config.json auths)')
    .action(
      action(async (remote: string, object: string | undefined, rest: string[], opts: Opts) => {
        // `mediatype:` words may land in OBJECT when it is omitted.
        const words = [object, ...rest].filter((w): w is string => w !== undefined);
        const hints: string[] = [];
        let obj: string | undefined;
        for (const w of words) {
          if (w.startsWith('mediatype:')) hints.push(w.slice('mediatype:'.length));
          else if (obj === undefined) obj = w;
          else throw invalidArgument('ERR_USAGE', `unexpected argument ${JSON.stringify(w)} (hints look like mediatype:TYPE)`, { actual: w });
        }
        // The remote stack is loaded here, not at start-up (~40 ms: https, auth).
        const [{ connect }, { isManifestType }, { objectOf, parseObject, parseReference }, { streamBlob }] = await Promise.all([
          import('../../remote/connect.js'),
          import('../../remote/media-types.js'),
          import('../../remote/reference.js'),
          import('../../remote/stream-blob.js'),
        ]);
        const ref = parseReference(remote);
        const target = obj !== undefined ? parseObject(obj) : {};
        const what = target.digest ?? target.tag ?? objectOf(ref);
        const client = connect(ref, opts);
        const blobHinted = hints.length > 0 && hints.every((h) => !isManifestType(h));
        const manifestHinted = hints.some((h) => isManifestType(h));
        if (!isDigest(what) || !blobHinted) {
          const probe = isDigest(what) && !manifestHinted;
          try {
            const m = await client.fetchManifest(ref.repository, what, { hints, ...(probe ? { attempts: 1 } : {}) });
            await write(m.bytes);
            return;
          } catch (err) {
            if (!probe || !(isKind(err, 'NotFound') || isKind(err, 'Unavailable'))) throw err;
          }
        }
        await streamBlob(client, ref.repository, what, write);
      }),
    );
}
