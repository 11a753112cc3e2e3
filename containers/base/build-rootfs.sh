#!/usr/bin/env bash
# Offline base image: a minimal Debian bookworm root filesystem from Debian's own archive, for
# machines with no container registry (where one exists, faultline pulls debian:bookworm-slim).
# Usage: build-rootfs.sh DIR   (needs root and debootstrap; ~30-60 s)
set -euo pipefail
dir=${1:?usage: build-rootfs.sh DIR}
mirror=${FAULTLINE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
debootstrap --variant=minbase bookworm "$dir" "$mirror"
# Keep the image small and behave like debian:bookworm-slim: no package cache, no lists.
chroot "$dir" apt-get clean
rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/log/*.log "$dir"/tmp/*
# DIR is a mkdtemp folder (mode 0700), and the tar's root entry carries that mode into the image:
# `/` would be drwx------. overlay2 happens to hide it; the vfs driver (a dind engine) does not,
# and Apache's www-data workers then answer 403 on every page.
chmod 755 "$dir"
