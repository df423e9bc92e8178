/**
 * What `dist push NAME [REMOTE]` means: the stored image NAME names (an index.json name, as
 * `dist images` lists it, else a manifest digest in the store), and where it goes — REMOTE,
 * or by default the name itself (the image goes back where it was pulled from). A REMOTE
 * without tag takes NAME's tag; an image named by digest only is pushed by digest. Mount
 * candidates: the repository NAME came from, when it is on the destination registry.
 */
import type { Store } from '../content/types.js';
import { isDigest } from '../digest.js';
import { invalidArgument, notFound } from '../errors.js';
import { listImages } from '../oci/images.js';
import type { Descriptor } from './descriptor.js';
import { formatReference, parseReference, type Reference } from './reference.js';

export interface PushPlan {
  /** The stored image's name (or digest), as found. */
  source: string;
  top: Descriptor;
  /** Destination: host, repository, and the tag (or digest) the top is pushed under. */
  destination: Reference;
  /** `host/repo:tag` or `host/repo@digest`: what the summary and JSON call it. */
  name: string;
  /** Repositories of the destination registry that may hold the blobs already. */
  mountFrom: string[];
}

function withDefaultTag(r: Reference): Reference {
  return r.tag === undefined && r.digest === undefined ? { ...r, tag: 'latest' } : r;
}

export async function planPush(store: Store, nameText: string, remoteText?: string): Promise<PushPlan> {
  const { images } = await listImages(store.root);
  let sourceRef: Reference | undefined;
  try {
    sourceRef = withDefaultTag(parseReference(nameText));
  } catch {
    sourceRef = undefined; // another tool's name (skopeo writes any string): looked up as is
  }
  const canonical = sourceRef ? formatReference(sourceRef) : undefined;
  const rec = images.find((i) => i.name === nameText) ?? images.find((i) => i.name === canonical);
  let top: Descriptor;
  if (rec) {
    top = { mediaType: rec.mediaType, digest: rec.digest, size: rec.size, ...(rec.platform ? { platform: rec.platform } : {}) };
  } else {
    const digest = sourceRef?.digest ?? (isDigest(nameText) ? nameText : undefined);
    if (!digest) throw notFound('ERR_IMAGE_NOT_FOUND', `image ${JSON.stringify(nameText)} not found (see dist images)`, { actual: nameText });
    const info = await store.info(digest).catch(() => {
      throw notFound('ERR_IMAGE_NOT_FOUND', `image ${JSON.stringify(nameText)} not found: no such name, and ${digest} is not in the store`, { digest });
    });
    top = { mediaType: '', digest, size: info.size };
  }

  const remote = remoteText !== undefined ? parseReference(remoteText) : sourceRef;
  if (!remote) throw invalidArgument('ERR_INVALID_REFERENCE', `image ${JSON.stringify(nameText)} is not a registry name: give REMOTE`, { actual: nameText });
  if (remote.digest !== undefined && remote.digest !== top.digest) {
    throw invalidArgument('ERR_DIGEST_MISMATCH', `${remoteText}: the image is ${top.digest}, not ${remote.digest}`, { expected: top.digest, actual: remote.digest });
  }
  // REMOTE without tag or digest keeps the source's tag; a source named by digest goes by digest.
  const tag = remote.tag ?? (remote.digest === undefined ? sourceRef?.tag : undefined);
  const destination: Reference = { host: remote.host, repository: remote.repository, ...(tag !== undefined ? { tag } : { digest: top.digest }) };
  const mountFrom = sourceRef && sourceRef.host === destination.host && sourceRef.repository !== destination.repository ? [sourceRef.repository] : [];
  return { source: rec?.name ?? nameText, top, destination, name: formatReference(destination), mountFrom };
}
