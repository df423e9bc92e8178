#!/usr/bin/env bash
# The README's test command (`npm test`): the whole set-up on a fresh Debian machine, then
# the whole suite. Arguments go to vitest (`npm test -- test/cli.test.ts`).
#   1. the Debian packages the tests run against, when missing (scripts/test-setup.sh)
#   2. `npm ci` when node_modules is missing or older than package-lock.json
#   3. `npm run build` (the tests spawn the compiled CLI), then `vitest run`
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/test-setup.sh

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "test: npm ci (node_modules missing or older than package-lock.json)"
  npm ci
fi

npm run build
exec node_modules/.bin/vitest run "$@"
