/** Where the compiled project lives (built by `npm run build`, i.e. `tsc -p .`). */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI_MAIN = resolve(REPO_ROOT, 'dist/src/cli/main.js');
export const DIST_INDEX = resolve(REPO_ROOT, 'dist/src/index.js');
export const DIST_INDEX_URL = pathToFileURL(DIST_INDEX).href;

/** Fails with a clear message when the compiled output the multi-process tests run is missing. */
export function requireBuild(): void {
  for (const f of [CLI_MAIN, DIST_INDEX]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` before these tests (npm test does)`);
  }
}
