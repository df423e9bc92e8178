/**
 * Member names of a layer tar, checked before anything touches the disk: relative, no `..`
 * component, no NUL. `./a//b/` and `a/b` are the same name; the root itself is `[]`.
 * Whiteout names (OCI image spec, "Whiteouts") are recognised here too.
 */
import { invalidArgument } from '../errors.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE = '.wh..wh..opq';
/** `.wh..wh.` names other than the opaque marker are AUFS metadata, not content. */
export const WHITEOUT_META = '.wh..wh.';

export function unsafe(name: string, why: string) {
  return invalidArgument('ERR_UNSAFE_ARCHIVE', `refusing layer entry ${JSON.stringify(name)}: ${why}`, { path: name });
}

/** The components of a member name; throws ERR_UNSAFE_ARCHIVE for absolute or `..` names. */
export function splitName(name: string, what = 'name'): string[] {
  if (name.includes('\0')) throw unsafe(name, `${what} contains NUL`);
  if (name.startsWith('/')) throw unsafe(name, `absolute ${what}`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw unsafe(name, `${what} climbs out with ".."`);
  return parts;
}
