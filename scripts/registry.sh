#!/usr/bin/env bash
# Starts the Debian `docker-registry` (distribution 2.8) on 127.0.0.1 with a generated config
# and a temporary storage directory, in the foreground (exec: the registry gets this pid, so
# killing it stops the registry). Used by test/registry and bench/pull.ts.
#
#   scripts/registry.sh PORT [WORKDIR]
#
# WORKDIR (default: a new mktemp dir) receives config.yml and storage/; the caller removes it.
# Environment (all optional):
#   REGISTRY_HTPASSWD=FILE          Basic auth from a bcrypt htpasswd file
#   REGISTRY_TOKEN_REALM=URL        Bearer token auth (with the three below)
#   REGISTRY_TOKEN_SERVICE=NAME
#   REGISTRY_TOKEN_ISSUER=NAME
#   REGISTRY_TOKEN_ROOTCERT=FILE    PEM certificate that signs the tokens
#   REGISTRY_TLS_CERT=FILE REGISTRY_TLS_KEY=FILE   serve HTTPS with this certificate
#   REGISTRY_LOGLEVEL=error|info|debug (default error)
#
# Binds 127.0.0.1 only. A missing binary is an error (exit 127), never a silent skip.
set -euo pipefail

port="${1:?usage: registry.sh PORT [WORKDIR]}"
work="${2:-}"
bin="$(command -v docker-registry || true)"
if [ -z "$bin" ]; then
  echo "registry.sh: docker-registry not found; run scripts/test-setup.sh" >&2
  exit 127
fi

[ -n "$work" ] || work="$(mktemp -d "${TMPDIR:-/tmp}/containerkit-registry.XXXXXX")"
storage="$work/storage"
mkdir -p "$storage"
config="$work/config.yml"

{
  cat <<YAML
version: 0.1
log:
  level: ${REGISTRY_LOGLEVEL:-error}
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: containerkit-test-secret
YAML
  if [ -n "${REGISTRY_TLS_CERT:-}" ]; then
    cat <<YAML
  tls:
    certificate: $REGISTRY_TLS_CERT
    key: ${REGISTRY_TLS_KEY:?REGISTRY_TLS_KEY is needed with REGISTRY_TLS_CERT}
YAML
  fi
  if [ -n "${REGISTRY_HTPASSWD:-}" ]; then
    cat <<YAML
auth:
  htpasswd:
    realm: containerkit
    path: $REGISTRY_HTPASSWD
YAML
  elif [ -n "${REGISTRY_TOKEN_REALM:-}" ]; then
    cat <<YAML
auth:
  token:
    realm: $REGISTRY_TOKEN_REALM
    service: ${REGISTRY_TOKEN_SERVICE:?}
    issuer: ${REGISTRY_TOKEN_ISSUER:?}
    rootcertbundle: ${REGISTRY_TOKEN_ROOTCERT:?}
YAML
  fi
} > "$config"

echo "registry.sh: 127.0.0.1:$port storage=$storage config=$config" >&2
exec "$bin" serve "$config"
