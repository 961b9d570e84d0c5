#!/usr/bin/env bash
# Step 80: nothing secret or machine-specific leaves the build. No SSH host keys (made on first
# boot), an empty machine-id (systemd makes one on first boot), no random seed, no root password,
# no apt lists or caches, no logs.
set -euo pipefail
rootfs=$1

rm -f "$rootfs"/etc/ssh/ssh_host_*
: > "$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id" "$rootfs/var/lib/systemd/random-seed" "$rootfs/var/lib/systemd/credential.secret"
chroot "$rootfs" passwd --lock root >/dev/null
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
find "$rootfs/var/log" -type f -exec truncate -s 0 {} +
rm -rf "$rootfs"/tmp/* "$rootfs"/var/tmp/*
