// Shared by the multi-process test children: they use only the compiled library (dist/).
import { fileURLToPath } from 'node:url';
export { seededBytes } from '../../../scripts/seeded-bytes.mjs';

export const DIST = new URL('../../../dist/src/', import.meta.url);
export const lib = await import(new URL('index.js', DIST).href);
export const statusFile = await import(new URL('local/status-file.js', DIST).href);
export const hashEngine = await import(new URL('hash/engine.js', DIST).href);

export const args = JSON.parse(process.env.CK_ARGS ?? process.argv[2] ?? '{}');


export function errJson(err) {
  return { kind: err?.kind ?? null, code: err?.code ?? null, message: String(err?.message ?? err), details: err?.details ?? null };
}

export function print(tag, value) {
  process.stdout.write(`${tag}${value === undefined ? '' : ' ' + JSON.stringify(value)}\n`);
}

/** Never crash silently: a test child reports every unexpected failure on stdout. */
export function guard() {
  process.on('uncaughtException', (err) => {
    print('uncaught', errJson(err));
    process.exit(99);
  });
  process.on('unhandledRejection', (err) => {
    print('uncaught', errJson(err));
    process.exit(98);
  });
}

export function storeOptions(a = args) {
  const o = {};
  if (a.lock) o.lock = a.lock;
  if (a.checkpointBytes !== undefined) o.checkpointBytes = a.checkpointBytes;
  if (a.checkpointMs !== undefined) o.checkpointMs = a.checkpointMs;
  return o;
}

export const here = fileURLToPath(new URL('.', import.meta.url));
