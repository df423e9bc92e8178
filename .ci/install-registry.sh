#!/usr/bin/env bash
# Kept for callers of the old name: the list of packages lives in scripts/test-setup.sh.
exec bash "$(dirname "$0")/../scripts/test-setup.sh"
