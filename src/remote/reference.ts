/**
 * Image references: `[HOST[:PORT]/]PATH[:TAG][@DIGEST]`, normalised the way Docker does
 * (a first component with `.`/`:` or `localhost` is a host; otherwise docker.io, and a
 * single-component path gets `library/`). Everything is validated before it reaches a URL,
 * so a reference can never smuggle `..`, `?` or `#` into a request path.
 */
import { invalidArgument } from '../errors.js';
import { parseDigest } from '../digest.js';

export const DOCKER_HUB = 'docker.io';

export interface Reference {
  /** Registry host as written (`docker.io`, `127.0.0.1:5000`). */
  host: string;
  /** Repository path inside the registry (`library/busybox`). */
  repository: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;

function bad(text: string, why: string) {
  return invalidArgument('ERR_INVALID_REFERENCE', `invalid reference ${JSON.stringify(text)}: ${why}`, { actual: text });
}

/** Parses NAME[:TAG|@DIGEST]. Neither tag nor digest is defaulted here. */
export function parseReference(text: string): Reference {
  if (typeof text !== 'string' || text.length === 0 || text.length > 4096) throw bad(String(text), 'empty or too long');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      parseDigest(digest);
    } catch {
      throw bad(text, `bad digest ${JSON.stringify(digest)}`);
    }
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw bad(text, `bad tag ${JSON.stringify(tag)}`);
  }
  const parts = rest.split('/');
  let host = DOCKER_HUB;
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    host = first;
    parts.shift();
    if (!HOST.test(host)) throw bad(text, `bad registry host ${JSON.stringify(host)}`);
  }
  if (host === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  for (const p of parts) if (!COMPONENT.test(p)) throw bad(text, `bad path component ${JSON.stringify(p)} (lower-case letters, digits, separators)`);
  const repository = parts.join('/');
  if (repository.length === 0 || repository.length > 255) throw bad(text, 'bad repository length');
  return { host, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** `host/repository` — the name without tag or digest. */
export function repoName(ref: Reference): string {
  return `${ref.host}/${ref.repository}`;
}

/** Canonical string: `host/repo:tag`, `host/repo@digest`, or `host/repo:tag@digest`. */
export function formatReference(ref: Reference): string {
  return `${repoName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The object to ask the registry for: the digest when pinned, else the tag. */
export function objectOf(ref: Reference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** Validates a fetch OBJECT: a tag or a digest. */
export function parseObject(text: string): { tag?: string; digest?: string } {
  if (text.includes(':')) {
    try {
      return { digest: parseDigest(text).digest };
    } catch {
      throw bad(text, 'not a digest (<alg>:<hex>) or tag');
    }
  }
  if (!TAG.test(text)) throw bad(text, 'not a tag or digest');
  return { tag: text };
}

/** The API endpoint of a host (Docker Hub's registry lives elsewhere than its name). */
export function apiHost(host: string): string {
  return host === DOCKER_HUB ? 'registry-1.docker.io' : host;
}
