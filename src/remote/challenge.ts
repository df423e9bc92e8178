/**
 * WWW-Authenticate parsing (RFC 7235): `Bearer realm="…",service="…",scope="…"` or
 * `Basic realm="…"`. Only the first challenge a registry offers is used.
 */
export interface Challenge {
  scheme: 'basic' | 'bearer' | string;
  params: Record<string, string>;
}

export function parseChallenge(header: string | string[] | undefined): Challenge | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  if (!text) return undefined;
  const m = /^\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)\s*(.*)$/s.exec(text);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/gy;
  const rest = m[2]!;
  let p: RegExpExecArray | null;
  while ((p = re.exec(rest))) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
    if (re.lastIndex >= rest.length) break;
  }
  return { scheme: m[1]!.toLowerCase(), params };
}
