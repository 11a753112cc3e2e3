#!/bin/bash
# faultline MariaDB: applies any /docker-entrypoint-initdb.d/*.sql not applied yet (a server
# with networking off, so nothing can connect before the data is in), then runs mariadbd in
# the foreground as PID 1. `--init-only` stops after the init files (used by the image build).
# Files are remembered by name and sha256 in /var/lib/mysql/.faultline-initdb, so a file is
# applied once; seed files should still be idempotent (they may also be applied by `docker exec`).
set -euo pipefail
DONE=/var/lib/mysql/.faultline-initdb
SOCK=/run/mysqld/mysqld.sock
# MariaDB authenticates root@localhost and mysql@localhost by unix_socket: the OS user is the account.
ME="$(id -un)"
touch "$DONE"

pending=()
for f in /docker-entrypoint-initdb.d/*.sql; do
  [ -e "$f" ] || continue
  sum="$(sha256sum "$f" | cut -d' ' -f1)  $(basename "$f")"
  grep -qxF "$sum" "$DONE" || pending+=("$f")
done

if [ "${#pending[@]}" -gt 0 ]; then
  mariadbd --skip-networking --socket="$SOCK" &
  pid=$!
  for _ in $(seq 1 300); do
    mariadb-admin --socket="$SOCK" -u"$ME" ping >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { echo "faultline-mariadb: mariadbd exited during init" >&2; exit 1; }
    sleep 0.1
  done
  for f in "${pending[@]}"; do
    echo "faultline-mariadb: applying $f" >&2
    mariadb --socket="$SOCK" -u"$ME" < "$f"
    echo "$(sha256sum "$f" | cut -d' ' -f1)  $(basename "$f")" >> "$DONE"
  done
  mariadb-admin --socket="$SOCK" -u"$ME" shutdown
  wait "$pid" || true
fi

[ "${1:-}" = "--init-only" ] && exit 0
# mariadbd handles SIGTERM itself (a clean shutdown, well under a second for this data).
exec mariadbd "$@"
