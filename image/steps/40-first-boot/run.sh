#!/usr/bin/env bash
# Step 40: first boot. Each box makes its own SSH host keys, grows its root filesystem to the SD
# card, and applies the settings file the user edits on the boot partition (host name, admin user
# and SSH key, Wi-Fi country and uplink, superdist role). SSH takes keys only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rootfs=$1

install -d -m 0755 "$rootfs/usr/lib/superdist"
install -m 0755 "$here/files/first-boot" "$here/files/grow-root" "$rootfs/usr/lib/superdist/"
install -m 0644 "$here/files/"superdist-*.service "$rootfs/usr/lib/systemd/system/"
install -m 0644 "$here/files/sshd-superdist.conf" "$rootfs/etc/ssh/sshd_config.d/superdist.conf"
install -m 0644 "$here/files/superdist-setup.txt" "$rootfs/boot/firmware/superdist-setup.txt"
chroot "$rootfs" systemctl enable superdist-first-boot.service superdist-ssh-host-keys.service superdist-grow-root.service
