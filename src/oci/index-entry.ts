/**
 * Validation of index.json entries. The file is shared with other tools (skopeo, umoci,
 * hand edits), so an entry is untrusted input: it is checked before any field becomes a
 * path, a store lookup or output. One bad entry never fails a command: readers skip it and
 * writers keep it as it is, each with a warning that names it (position, name, digest).
 */
import { isDigest } from '../digest.js';
import { isManifestType } from '../remote/media-types.js';
import type { IndexEntry } from './index-file.js';

export const REF_NAME = 'org.opencontainers.image.ref.name';
export const CONTAINERD_NAME = 'io.containerd.image.name';

/** An entry that failed validation: its position in `manifests`, how to name it, and why. */
export interface BadEntry {
  position: number;
  /** `(name "…", digest "…")`, or the JSON of a non-object, shortened. */
  label: string;
  why: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function shortJson(v: unknown, max = 80): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** The entry's name annotation, if it has one (null-safe on any value). */
export function entryName(e: unknown): string | undefined {
  if (!isObject(e) || !isObject(e.annotations)) return undefined;
  const n = e.annotations[CONTAINERD_NAME] ?? e.annotations[REF_NAME];
  return typeof n === 'string' ? n : undefined;
}

function label(e: unknown): string {
  if (!isObject(e)) return `(${shortJson(e)})`;
  const name = entryName(e);
  return `(${name !== undefined ? `name ${shortJson(name)}, ` : ''}digest ${shortJson(e.digest)})`;
}

/** Why `e` is not a usable descriptor, or undefined when it is one. */
function problem(e: unknown): string | undefined {
  if (!isObject(e)) return 'not a descriptor object';
  if (!isDigest(e.digest)) return 'the digest is not <algorithm>:<hex>';
  if (!Number.isSafeInteger(e.size) || (e.size as number) < 0) return `bad size ${shortJson(e.size)}`;
  if (typeof e.mediaType !== 'string' || e.mediaType === '') return `bad media type ${shortJson(e.mediaType)}`;
  if (e.annotations !== undefined && (!isObject(e.annotations) || !Object.values(e.annotations).every((v) => typeof v === 'string'))) {
    return 'annotations are not a map of strings';
  }
  const p = e.platform;
  if (p !== undefined && (!isObject(p) || typeof p.os !== 'string' || typeof p.architecture !== 'string' || (p.variant !== undefined && typeof p.variant !== 'string'))) {
    return `bad platform ${shortJson(p)}`;
  }
  // Unnamed entries may be anything OCI allows (artifacts…); a name must point at an image.
  if (entryName(e) !== undefined && !isManifestType(e.mediaType)) return `media type ${shortJson(e.mediaType)} is not an image manifest or index`;
  return undefined;
}

/** Splits `manifests` into valid entries and bad ones (in file order). */
export function checkEntries(manifests: readonly unknown[]): { good: IndexEntry[]; bad: BadEntry[] } {
  const good: IndexEntry[] = [];
  const bad: BadEntry[] = [];
  manifests.forEach((e, position) => {
    const why = problem(e);
    if (why === undefined) good.push(e as unknown as IndexEntry);
    else bad.push({ position, label: label(e), why });
  });
  return { good, bad };
}

/** `index.json entry 3 (null): skipped (not a descriptor object)` */
export function describeBadEntry(b: BadEntry, verb: string): string {
  return `index.json entry ${b.position} ${b.label}: ${verb} (${b.why})`;
}
