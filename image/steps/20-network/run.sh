#!/usr/bin/env bash
# Step 20: network. A default host name (first boot sets the real one), DHCP on wired and
# wireless uplinks through systemd-networkd, DNS through systemd-resolved, time through timesyncd.
# The local segment (Wi-Fi AP, Bluetooth PAN) is set up by the main node's helper units.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../config"
rootfs=$1

echo "$IMAGE_DEFAULT_HOSTNAME" > "$rootfs/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' "$IMAGE_DEFAULT_HOSTNAME" > "$rootfs/etc/hosts"
install -d "$rootfs/etc/systemd/network"
install -m 0644 "$here/files/"*.network "$rootfs/etc/systemd/network/"
chroot "$rootfs" systemctl enable systemd-networkd.service systemd-resolved.service systemd-timesyncd.service
