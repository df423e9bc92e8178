/**
 * The package's own directory and version, found from this module's place: the TS sources
 * (vitest), tsc's output under dist/, and the CLI bundle (dist/src/cli/cli.cjs, where
 * import.meta.url is the bundle's) all sit below the directory holding package.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The nearest directory above this module holding a package.json, or undefined. */
export function packageRoot(): string | undefined {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
  return (root = dir);
}

/** containerkit's version from its package.json; 'unknown' when that cannot be read. */
export function packageVersion(): string {
  const dir = packageRoot();
  if (!dir) return 'unknown';
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
    return pkg.name === 'containerkit' && typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
