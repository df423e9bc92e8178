#!/usr/bin/env bash
# Installs what test/registry and bench/pull.ts run against: the Debian registry
# (distribution 2.8), skopeo and umoci (read the OCI layout a pull leaves), htpasswd
# (bcrypt password files for Basic auth) and openssl (the Bearer token test's certificate).
set -euo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends docker-registry skopeo umoci apache2-utils openssl
# Debian starts the packaged service where systemd runs; the tests start their own.
$SUDO systemctl disable --now docker-registry 2>/dev/null || true
docker-registry --version
skopeo --version
umoci --version
