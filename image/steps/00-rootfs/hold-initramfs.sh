#!/usr/bin/env bash
# mmdebstrap essential hook: diverts update-initramfs to a no-op until step 10 (see run.sh).
set -euo pipefail
rootfs=$1
chroot "$rootfs" dpkg-divert --quiet --local --rename --divert /usr/sbin/update-initramfs.superdist-build --add /usr/sbin/update-initramfs
printf '#!/bin/sh\n# superdist image build: the initramfs is built once, in step 10-boot.\nexit 0\n' > "$rootfs/usr/sbin/update-initramfs"
chmod 0755 "$rootfs/usr/sbin/update-initramfs"
