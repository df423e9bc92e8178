/**
 * Labels on blobs (containerd's content labels): one record per labelled blob,
 * `<root>/labels/<alg>/<hex>`, JSON `{v: 1, labels: {…}}`. Updates are read-modify-write
 * under the record's lock (./record-lock.ts) and replace the record atomically, so any
 * number of processes can update one blob's labels at once and none is lost; readers take
 * no lock. A blob without labels has no record.
 *
 * Update semantics follow containerd's: with no field paths, the labels given replace all
 * labels; with field paths, only the named ones change — `labels` replaces all, `labels.K`
 * sets K to the given value, or removes K when the value is empty or absent.
 */
import { join } from 'node:path';
import { parseDigest } from '../digest.js';
import { invalidArgument } from '../errors.js';
import type { LockOptions } from './lock.js';
import { readJsonRecord, removeRecord, replaceJsonRecord } from './record-file.js';
import { withRecordLock } from './record-lock.js';
import type { TrustPolicy } from './trust.js';

export type Labels = Record<string, string>;

/** containerd's limit: a label's key and value together. */
export const MAX_LABEL_BYTES = 4096;
/** A blob's whole label record. */
export const MAX_LABELS_RECORD = 256 * 1024;

export function labelsPath(root: string, digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return join(root, 'labels', algorithm, hex);
}

export function labelsDir(root: string, algorithm: string): string {
  return join(root, 'labels', algorithm);
}

interface LabelsRecord {
  v: 1;
  labels: Labels;
}

function clean(v: unknown): Labels {
  const out: Labels = {};
  if (typeof v !== 'object' || v === null) return out;
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) if (typeof val === 'string' && k) out[k] = val;
  return out;
}

/** The labels of `digest` ({} when it has none, or its record is unreadable). */
export function readLabels(root: string, digest: string): Labels {
  const r = readJsonRecord<LabelsRecord>(labelsPath(root, digest), MAX_LABELS_RECORD);
  return r && r.v === 1 ? clean(r.labels) : {};
}

export function validateLabels(labels: unknown, digest: string): Labels {
  if (labels === undefined) return {};
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    throw invalidArgument('ERR_INVALID_LABELS', `labels of ${digest} must be an object of strings`, { digest });
  }
  for (const [k, v] of Object.entries(labels)) {
    if (k.length === 0) throw invalidArgument('ERR_INVALID_LABELS', `a label of ${digest} has an empty key`, { digest });
    if (typeof v !== 'string') throw invalidArgument('ERR_INVALID_LABELS', `label ${JSON.stringify(k)} of ${digest} is not a string`, { digest });
    const n = Buffer.byteLength(k) + Buffer.byteLength(v);
    if (n > MAX_LABEL_BYTES) {
      throw invalidArgument('ERR_INVALID_LABELS', `label ${JSON.stringify(k.slice(0, 64))} of ${digest} is ${n} bytes, over ${MAX_LABEL_BYTES}`, {
        digest,
        expected: MAX_LABEL_BYTES,
        actual: n,
      });
    }
  }
  return labels as Labels;
}

/** The labels after applying `update` with containerd's field-path rules. */
export function applyLabelUpdate(current: Labels, update: Labels, fieldpaths: readonly string[] | undefined, digest: string): Labels {
  if (!fieldpaths || fieldpaths.length === 0 || fieldpaths.includes('labels')) {
    return Object.fromEntries(Object.entries(update).filter(([, v]) => v !== ''));
  }
  const next = { ...current };
  for (const fp of fieldpaths) {
    if (!fp.startsWith('labels.') || fp.length === 'labels.'.length) {
      throw invalidArgument('ERR_INVALID_FIELDPATH', `cannot update ${JSON.stringify(fp)} of ${digest}: only "labels" and "labels.<key>"`, {
        digest,
        actual: fp,
      });
    }
    const key = fp.slice('labels.'.length);
    const v = update[key];
    if (v === undefined || v === '') delete next[key];
    else next[key] = v;
  }
  return next;
}

/** Updates the labels of `digest` (the caller checked it exists); returns the new labels. */
export async function updateLabels(
  trust: TrustPolicy,
  lock: LockOptions,
  digest: string,
  update: Labels,
  fieldpaths?: readonly string[],
): Promise<Labels> {
  const valid = validateLabels(update, digest);
  const path = labelsPath(trust.root, digest);
  return withRecordLock(trust, path, `labels of ${digest}`, lock, async (stillHeld) => {
    const next = applyLabelUpdate(readLabels(trust.root, digest), valid, fieldpaths, digest);
    if (Object.keys(next).length === 0) {
      await stillHeld();
      await removeRecord(path);
    } else {
      const record: LabelsRecord = { v: 1, labels: next };
      if (Buffer.byteLength(JSON.stringify(record)) > MAX_LABELS_RECORD) {
        throw invalidArgument('ERR_INVALID_LABELS', `labels of ${digest} would exceed ${MAX_LABELS_RECORD} bytes`, { digest });
      }
      await replaceJsonRecord(path, record, trust.fileMode, stillHeld);
    }
    return next;
  });
}

/** Removes the labels of a deleted blob (best effort: a leftover record labels nothing). */
export async function removeLabels(root: string, digest: string): Promise<void> {
  await removeRecord(labelsPath(root, digest)).catch(() => {});
}
