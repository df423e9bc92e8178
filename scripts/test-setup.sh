#!/usr/bin/env bash
# Installs the Debian packages the test suite runs against, only those missing, saying
# which: the CNCF distribution registry (docker-registry), skopeo and umoci (read the OCI
# layout a pull leaves), htpasswd (apache2-utils: Basic auth files), openssl (the Bearer
# token test's certificate), tmux (the progress bar test reads a real terminal's screen),
# script (bsdutils) and setpriv (util-linux): a pty, and running as `nobody`; runc (runs the
# bundles `dist bundle` writes), zstd (zstd layers for the apply tests), mount (overlay
# snapshots) and ctr (Debian's containerd package: containerd 1.6's client, run against
# `dist serve`; the tests never start its daemon, the serve benchmark does, on its own root).
# Needs root or sudo when something is missing; does nothing when all is there.
set -euo pipefail

declare -A package_of=(
  [docker-registry]=docker-registry [skopeo]=skopeo [umoci]=umoci [htpasswd]=apache2-utils
  [openssl]=openssl [tmux]=tmux [script]=bsdutils [setpriv]=util-linux
  [runc]=runc [zstd]=zstd [mount]=mount [ctr]=containerd
)
missing=()
for cmd in $(printf '%s\n' "${!package_of[@]}" | sort); do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${package_of[$cmd]}")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

echo "test-setup: installing Debian packages the tests need: ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "test-setup: no apt-get here: install ${missing[*]} (or your system's equivalents) and rerun" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "test-setup: installing ${missing[*]} needs root (or sudo)" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts the packaged registry where systemd runs; the tests start their own.
$SUDO systemctl disable --now docker-registry >/dev/null 2>&1 || true
# Likewise containerd's daemon: nothing here talks to the system's.
$SUDO systemctl disable --now containerd >/dev/null 2>&1 || true
echo "test-setup: installed ${missing[*]}"
