#!/usr/bin/env bash
# Step 00: the arm64 Debian root filesystem, by mmdebstrap through qemu-user. Later steps run as
# mmdebstrap customize hooks (passed in as extra arguments) while its chroot mounts are up.
# update-initramfs is held back while the packages install (every package that triggers it would
# rebuild the initramfs, ~3 min each under qemu); step 10 releases it and builds it once.
# Usage: run.sh ROOTFS_DIR [mmdebstrap options...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../config"
source "$here/../../lib/common.sh"
rootfs=$1; shift

packages=$(grep -v '^\s*#' "$here/packages" | grep . | paste -sd, -)
main=$(host_debian_mirror main)
security=$(host_debian_mirror security)

mmdebstrap \
  --mode=root \
  --variant=minbase \
  --architectures="$IMAGE_ARCH" \
  --format=directory \
  --include="$packages" \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --essential-hook="$here/hold-initramfs.sh \"\$1\"" \
  "$@" \
  "$IMAGE_SUITE" "$rootfs" \
  "deb $main $IMAGE_SUITE $IMAGE_COMPONENTS" \
  "deb $main $IMAGE_SUITE-updates $IMAGE_COMPONENTS" \
  "deb $security $IMAGE_SUITE-security $IMAGE_COMPONENTS"
