#!/usr/bin/env bash
# Make sure a Docker engine answers. Installs Debian's docker.io and starts dockerd when
# none does. Used by .ci/run and by developers on a fresh machine; faultline itself never
# installs anything (it fails with FAULTLINE_DOCKER_UNAVAILABLE instead).
set -euo pipefail

log() { printf '[ensure-docker] %s\n' "$*" >&2; }

if docker info >/dev/null 2>&1; then
  log "engine already answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  # Without root nothing can be installed or started here: say what to do, in one line.
  if command -v dockerd >/dev/null 2>&1; then
    log "no Docker engine answers and not root: start one ('sudo bash scripts/ensure-docker.sh') or, if dockerd runs, join its group ('sudo usermod -aG docker \$USER')"
  else
    log "no Docker engine and not root: run 'sudo apt-get install -y docker.io && sudo dockerd &' (or 'sudo bash scripts/ensure-docker.sh')"
  fi
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  log "installing docker.io (Debian) ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # --no-install-recommends keeps it small; iptables is needed by dockerd's bridge networking.
  apt-get install -y -qq --no-install-recommends docker.io iptables ca-certificates >/dev/null
fi

# The docker.io package ships /usr/sbin/dockerd; a client may already sit earlier in PATH.
DOCKERD=$(command -v dockerd || echo /usr/sbin/dockerd)
if ! pgrep -x dockerd >/dev/null 2>&1; then
  log "starting dockerd ..."
  mkdir -p /var/log
  nohup "$DOCKERD" >/var/log/dockerd.log 2>&1 </dev/null &
fi

for i in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then
    log "engine up after ${i}x0.5s ($(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 0.5
done
log "dockerd did not answer within 60 s; last log lines:"
tail -n 20 /var/log/dockerd.log >&2 || true
exit 1
