#!/usr/bin/env bash
# Installs what test/snapshots and test/archive run against besides the registry tools:
# runc (runs the bundles `dist bundle` writes), zstd (makes zstd layers for the apply tests)
# and util-linux's mount/umount (overlay snapshots; normally present).
set -euo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y --no-install-recommends runc zstd mount
runc --version | head -1
zstd --version
