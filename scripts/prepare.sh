#!/usr/bin/env bash
# Makes a fresh machine ready for the README's two commands, then returns: `npm run library`
# and `npm test` call it first (.ci/run too, through `npm test`). Idempotent and quick when
# everything is there.
#   bash scripts/prepare.sh library   engine, debootstrap (offline image builds), node_modules
#   bash scripts/prepare.sh test      the same, plus the tests' host tools (chromium for the
#                                     report tests, scripts/ensure-host-tools.sh for the diagnoser's)
# As root it installs what is missing with apt-get; without root it says in one line what to
# install and stops. faultline's own code never installs anything: only this wrapper does.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-library}
log() { printf '[prepare] %s\n' "$*" >&2; }
root() { [ "$(id -u)" = 0 ]; }

# 1. A Docker engine (installs docker.io and starts dockerd as root; one line otherwise).
bash scripts/ensure-docker.sh

# 2. Host tools. debootstrap builds the Debian base image offline when no registry answers.
need=()
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
if [ "$what" = test ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)   # the report tests open the HTML report
fi
if [ ${#need[@]} -gt 0 ]; then
  if ! root; then
    log "missing ${need[*]}: run 'sudo apt-get install -y ${need[*]}' (or run this as root), then again"
    exit 1
  fi
  log "installing ${need[*]} ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ "$what" = test ]; then bash scripts/ensure-host-tools.sh; fi

# 3. node_modules, when missing (a fresh clone).
if [ ! -d node_modules ] || [ ! -e node_modules/.bin/tsx ]; then
  log "node_modules missing: npm ci ..."
  npm ci --no-audit --no-fund --loglevel=error
fi
