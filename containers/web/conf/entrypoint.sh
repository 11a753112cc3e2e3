#!/bin/sh
# Defaults for the env the Apache config and the PHP app read, then exec Apache in the
# foreground as PID 1. Apache expands ${VAR} in its config from this environment.
set -e
: "${FL_MAX_WORKERS:=8}"
: "${FL_PROFILE_ADDR:=profile:9000}"
: "${FL_STORAGE_ADDRS:=storage1:9000}"
: "${FL_TIMEOUT_MS:=2000}"
: "${FL_DEADLINE_MS:=3000}"
: "${FL_INCIDENT_OP_TIMEOUT_MS:=10000}"
: "${FL_KEEPALIVE:=0}"
export FL_MAX_WORKERS FL_PROFILE_ADDR FL_STORAGE_ADDRS FL_TIMEOUT_MS FL_DEADLINE_MS FL_INCIDENT_OP_TIMEOUT_MS FL_KEEPALIVE
. /etc/apache2/envvars
mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" "$APACHE_LOG_DIR"
rm -f "$APACHE_PID_FILE"
exec /usr/sbin/apache2 -D FOREGROUND "$@"
