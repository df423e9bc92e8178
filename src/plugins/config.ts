/**
 * The server's config file (`dist serve --config FILE`), JSON:
 *
 *   {
 *     "root": "/var/lib/dist",                 // store root (--root wins)
 *     "address": "unix:///run/dist.sock",      // where to listen (--address wins)
 *     "grace": "10s",                          // shutdown grace for open writes (--grace wins)
 *     "disabledPlugins": ["io.containerd.grpc.v1.images"],
 *     "plugins": {
 *       "io.containerd.content.v1.local": { "hash": "native" },
 *       "io.containerd.grpc.v1.content": { "store": "local" }
 *     }
 *   }
 *
 * Read with a size cap and checked field by field; unknown keys are an error (a typo must
 * not be silently ignored).
 */
import { readFile, stat } from 'node:fs/promises';
import { invalidArgument, wrapSystemError } from '../errors.js';

export interface ServerConfigFile {
  root?: string;
  address?: string;
  grace?: string;
  disabledPlugins?: string[];
  plugins?: Record<string, Record<string, unknown>>;
}

const CAP = 1 << 20;
const KEYS = new Set(['root', 'address', 'grace', 'disabledPlugins', 'plugins']);

export async function readConfig(path: string): Promise<ServerConfigFile> {
  const bad = (why: string) => invalidArgument('ERR_INVALID_CONFIG', `config ${path}: ${why}`, { path });
  let text: string;
  try {
    if ((await stat(path)).size > CAP) throw bad(`larger than ${CAP} bytes`);
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw wrapSystemError(err, `reading config ${path}`, { path });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw bad(`not JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('not a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) throw bad(`unknown key ${JSON.stringify(k)} (known: ${[...KEYS].join(', ')})`);
  for (const k of ['root', 'address', 'grace'] as const) if (o[k] !== undefined && (typeof o[k] !== 'string' || o[k] === '')) throw bad(`${k} must be a non-empty string`);
  if (o.disabledPlugins !== undefined && !(Array.isArray(o.disabledPlugins) && o.disabledPlugins.every((x) => typeof x === 'string'))) {
    throw bad('disabledPlugins must be an array of "<type>.<id>" strings');
  }
  if (o.plugins !== undefined) {
    if (typeof o.plugins !== 'object' || o.plugins === null || Array.isArray(o.plugins)) throw bad('plugins must be an object keyed "<type>.<id>"');
    for (const [k, c] of Object.entries(o.plugins)) if (typeof c !== 'object' || c === null || Array.isArray(c)) throw bad(`plugins[${JSON.stringify(k)}] must be an object`);
  }
  return o as ServerConfigFile;
}
