#!/bin/sh
# Bootstrap a Debian base image from Debian's packages: for machines with no container registry.
# usage: bootstrap-base.sh IMAGE SUITE MIRROR PACKAGE...
#   e.g. bootstrap-base.sh wotemu-base:bookworm bookworm http://deb.debian.org/debian python3 python3-venv
# Plain http suffices: apt verifies the packages with Debian's keyring, not with TLS.
set -eu
image=$1 suite=$2 mirror=$3
shift 3
rootfs=$(mktemp -d /var/tmp/wotemu-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

packages=$(echo "$@" | tr ' ' ',')
debootstrap --variant=minbase ${packages:+--include="$packages"} "$suite" "$rootfs" "$mirror"

# Nothing in a container reads these: package caches and lists, manuals, translations.
# The copyright files stay (they go with the binaries).
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
       "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
find "$rootfs"/usr/share/doc -type f ! -name copyright -delete

tar -C "$rootfs" -c . | docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' - "$image"
