#!/bin/bash
# Defaults for the env nginx, PHP-FPM and the app read, then php-fpm and nginx in the
# foreground. This shell stays PID 1: it forwards SIGTERM/SIGINT to both and exits when
# either one dies, so `docker stop` is immediate and a crashed daemon is a stopped container.
# `-t` checks both configurations and exits (used by the image build).
set -e
: "${FL_MAX_WORKERS:=8}"
: "${FL_MARIADB_ADDR:=mariadb:3306}"
: "${FL_REDIS_ADDR:=redis:6379}"
: "${FL_API_ADDR:=api:8080}"
: "${FL_TIMEOUT_MS:=2000}"
: "${FL_DEADLINE_MS:=3000}"
export FL_MAX_WORKERS FL_MARIADB_ADDR FL_REDIS_ADDR FL_API_ADDR FL_TIMEOUT_MS FL_DEADLINE_MS
if ! [[ "$FL_MAX_WORKERS" =~ ^[0-9]+$ ]] || (( FL_MAX_WORKERS < 1 || FL_MAX_WORKERS > 256 )); then
  echo "faultline-fpm: FL_MAX_WORKERS must be an integer between 1 and 256, got '$FL_MAX_WORKERS'" >&2
  exit 2
fi
# Root-owned: the master binds its socket there without CAP_DAC_OVERRIDE.
mkdir -p /run/php

if [ "${1:-}" = "-t" ]; then
  php-fpm8.2 -t
  exec nginx -t
fi

pids=()
stop() { kill -TERM "${pids[@]}" 2>/dev/null || true; }
trap stop TERM INT
php-fpm8.2 -F &
pids+=($!)
nginx -g 'daemon off;' &
pids+=($!)
set +e
wait -n
status=$?
stop
wait
exit "$status"
