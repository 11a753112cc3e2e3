#!/usr/bin/env bash
# Host tools the diagnoser's live tests and bench need: strace and lsof (the scripted manual
# method in bench/diagnose.ts), util-linux (flock, lslocks), python3 and perl (the live tests'
# helper processes), and the modern PHP stack's programs for test/integration/diagnose-fpm.test.ts:
# redis-server, PHP 8.2 CLI with phpredis and mysqlnd (PDO), PHP-FPM 8.2 and nginx. Idempotent and fast when everything is there: apt-get runs only for what
# is missing. faultline itself installs nothing; it only reads /proc.
set -euo pipefail

log() { printf '[ensure-host-tools] %s\n' "$*" >&2; }

# command -> Debian package
declare -A NEED=(
  [strace]=strace
  [lsof]=lsof
  [flock]=util-linux
  [lslocks]=util-linux
  [perl]=perl-base
  [python3]=python3
  [redis-server]=redis-server
  [php8.2]=php8.2-cli
  [php-fpm8.2]=php8.2-fpm
  [nginx]=nginx-light
  # The diagnosis corpus (test/corpus): a Java thread pool run as `java X.java` (the source
  # launcher needs the JDK's compiler), network namespaces with iptables inside them, the bin run
  # unprivileged, a FUSE mount in a private mount namespace.
  [java]=openjdk-17-jdk-headless
  [javac]=openjdk-17-jdk-headless
  [ip]=iproute2
  [iptables]=iptables
  [setpriv]=util-linux
  [unshare]=util-linux
  # diagnose-rules.test.ts: ss (unix_diag, sock_diag), node (an event loop).
  [ss]=iproute2
  [node]=nodejs
)
# PHP extensions (no command of their own): module name -> Debian package.
declare -A PHP_EXT=(
  [redis]=php8.2-redis
  [pdo_mysql]=php8.2-mysql
)
# The module list is read whole before grep looks at it: `php -m | grep -q` under pipefail fails
# when grep quits at its match while php still writes (SIGPIPE), which a loaded CI run hit once.
php_has() {
  local mods
  command -v php8.2 >/dev/null 2>&1 && mods=$(php8.2 -m 2>/dev/null) && grep -qix "$1" <<<"$mods"
}

missing=()
for cmd in "${!NEED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEED[$cmd]}")
done
for ext in "${!PHP_EXT[@]}"; do
  php_has "$ext" || missing+=("${PHP_EXT[$ext]}")
done
if [ "${#missing[@]}" -eq 0 ]; then
  log "all present (strace, lsof, flock, lslocks, perl, python3, redis-server, php8.2 + redis + pdo_mysql, php-fpm8.2, nginx, java, ip, iptables, setpriv, unshare, ss, node)"
  exit 0
fi

# Deduplicate package names.
mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" != 0 ]; then
  log "missing ${pkgs[*]} and not root: run 'sudo apt-get install ${pkgs[*]}'"
  exit 1
fi
log "installing ${pkgs[*]} ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
for cmd in "${!NEED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || { log "still missing: $cmd"; exit 1; }
done
for ext in "${!PHP_EXT[@]}"; do
  php_has "$ext" || { log "still missing: php extension $ext"; exit 1; }
done
log "installed ${pkgs[*]}"
