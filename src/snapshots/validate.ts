/**
 * Snapshot keys and labels, checked before they reach the database: keys are non-empty
 * strings without NUL of at most 4 KiB (they are record keys, never paths); a label's key
 * and value together are at most 4 KiB, like containerd's.
 */
import { invalidArgument } from '../errors.js';

const MAX_NAME_BYTES = 4096;
const MAX_LABEL_BYTES = 4096;

export function checkName(name: unknown, what = 'snapshot key'): string {
  if (typeof name !== 'string' || name.length === 0 || name.includes('\0') || Buffer.byteLength(name) > MAX_NAME_BYTES) {
    throw invalidArgument('ERR_INVALID_SNAPSHOT_NAME', `invalid ${what} ${JSON.stringify(name)}: a non-empty string without NUL, at most ${MAX_NAME_BYTES} bytes`, {
      actual: String(name),
    });
  }
  return name;
}

export function checkLabels(labels: unknown): Record<string, string> {
  if (labels === undefined) return {};
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) throw invalidArgument('ERR_INVALID_LABELS', 'labels must be an object of strings', {});
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (typeof v !== 'string' || k.length === 0 || Buffer.byteLength(k) + Buffer.byteLength(v) > MAX_LABEL_BYTES) {
      throw invalidArgument('ERR_INVALID_LABELS', `invalid label ${JSON.stringify(k)}: key and string value of at most ${MAX_LABEL_BYTES} bytes together`, { actual: k });
    }
    out[k] = v;
  }
  return out;
}

