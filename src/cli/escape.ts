/**
 * Text from the store (refs, paths, hosts, names) reaches a terminal only escaped: a ref may
 * hold any string, and an escape sequence in it would recolour, clear or rewrite the screen,
 * and a newline would forge a table row. JSON output needs none of this (JSON escapes C0).
 *
 * Unsafe: C0 controls, DEL, C1 controls (0x9b is a one-byte CSI), the line and paragraph
 * separators, and the bidirectional overrides/isolates that reorder what a reader sees.
 */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return NAMED[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}

/** Replaces each unsafe character with a C-style escape (`\n`, `\x1b`, `\u202e`). */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE_ALL, escapeChar);
}

/**
 * A field for human output: unchanged when safe, else double-quoted with `\` and `"`
 * escaped too (as git quotes unusual paths), so an escaped field is never mistaken for a
 * plain one that happens to contain a backslash.
 */
export function displayField(text: string): string {
  if (!UNSAFE.test(text)) return text;
  return `"${text.replace(/[\\"]/g, '\\$&').replace(UNSAFE_ALL, escapeChar)}"`;
}
