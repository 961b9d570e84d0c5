#!/usr/bin/env bash
# Step 35: firmware updates (docs/updates.md). The boot selection partition on /boot/select,
# writable by the superdist group (the update agent rewrites autoboot.txt); the slot partitions
# (2, 3, 5, 6 of this image's disk) given to the superdist group by udev so the agent writes the
# inactive slot without root; a path unit that reboots (tryboot for a trial) when the agent asks.
# Mount points for the data partition's bind mounts.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../config"
rootfs=$1
id=${IMAGE_DISK_ID#0x}
gid=$(chroot "$rootfs" getent group superdist | cut -d: -f3)
[ -n "$gid" ] || { echo "35-updates: no superdist group (step 30 makes it)" >&2; exit 1; }

install -d -m 0755 "$rootfs/boot/select" "$rootfs/data" "$rootfs/var/log/journal" "$rootfs/usr/lib/superdist"
# Mount point of the state directory's bind mount, as the service's StateDirectory= would make it.
install -d -m 0750 -o "$(chroot "$rootfs" id -u superdist)" -g "$gid" "$rootfs/var/lib/superdist"
printf 'LABEL=%s  /boot/select  vfat  rw,noatime,gid=%s,dmask=0002,fmask=0113,nofail  0  2\n' "$IMAGE_SELECT_LABEL" "$gid" >> "$rootfs/etc/fstab"

sed "s|@DISK_ID@|$id|" "$here/files/60-superdist-slots.rules" > "$rootfs/usr/lib/udev/rules.d/60-superdist-slots.rules"
chmod 0644 "$rootfs/usr/lib/udev/rules.d/60-superdist-slots.rules"
install -m 0755 "$here/files/reboot-request" "$rootfs/usr/lib/superdist/reboot-request"
install -m 0644 "$here/files/superdist-reboot.path" "$here/files/superdist-reboot.service" "$rootfs/usr/lib/systemd/system/"
chroot "$rootfs" systemctl enable superdist-reboot.path
