#!/usr/bin/env bash
# Installs everything sphinxctl and its tests need on a fresh Debian 12 machine (root, Python 3.11,
# Node 20, package registries only). Idempotent: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || need_apt+=(prometheus)
{ command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; } || need_apt+=(postgresql)
command -v pg_dump >/dev/null 2>&1 || need_apt+=(postgresql-client)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# Debian starts these as services when it can; the tests start private servers of their own.
command -v systemctl >/dev/null 2>&1 && systemctl disable --now prometheus >/dev/null 2>&1 || true

stamp() { sha256sum "$@" | sha256sum | cut -c1-16; }

want=$(stamp pyproject.toml)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.stamp 2>/dev/null)" != "$want" ]; then
  log "python: .venv with sphinxctl[dev]"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[dev]"
  echo "$want" > .venv/.stamp
fi

want=$(stamp requirements/slither.txt)
if [ ! -x .venv-tools/bin/slither ] || [ "$(cat .venv-tools/.stamp 2>/dev/null)" != "$want" ]; then
  log "python: .venv-tools with slither (its web3 pin conflicts with ours, so it lives apart)"
  python3 -m venv .venv-tools
  .venv-tools/bin/pip install -q --upgrade pip
  .venv-tools/bin/pip install -q -r requirements/slither.txt
  echo "$want" > .venv-tools/.stamp
fi

want=$(stamp package-lock.json)
if [ ! -d node_modules ] || [ "$(cat node_modules/.stamp 2>/dev/null)" != "$want" ]; then
  log "node: npm ci (solc-js, anvil, OpenZeppelin, Safe, solhint)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > node_modules/.stamp
fi
