/**
 * Child processes that drive a snapshotter through the compiled library (dist/), for the
 * multi-process and crash tests: `runSnapshotChild(root, driver, body, args)` runs `body`
 * (an async function body with `sn`, `args`, `at(key, fn)` and `fs` in scope) and prints
 * `result <json>` or `error <json>` (kind, code, message).
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { Child } from '../../helpers/child.js';
import { REPO_ROOT } from '../../helpers/paths.js';

const lib = (p: string) => pathToFileURL(resolve(REPO_ROOT, 'dist/src', p)).href;

export function runSnapshotChild(root: string, driver: string, body: string, args: unknown = null, env: Record<string, string> = {}): Child {
  const source = `
import { openSnapshotter } from ${JSON.stringify(lib('snapshots/open.js'))};
import { withMounts } from ${JSON.stringify(lib('snapshots/mount.js'))};
import * as fs from 'node:fs/promises';
const args = JSON.parse(process.env.CK_CHILD_ARGS);
const sn = await openSnapshotter(${JSON.stringify(root)}, ${JSON.stringify(driver)});
const at = async (key, fn) => withMounts(await sn.mounts(key), () => sn.mountTarget(), fn);
try {
  const result = await (async () => { ${body} })();
  console.log('result ' + JSON.stringify(result ?? null));
} catch (err) {
  console.log('error ' + JSON.stringify({ kind: err.kind, code: err.code, message: err.message }));
}
`;
  return new Child(source, { CK_CHILD_ARGS: JSON.stringify(args), ...env });
}
