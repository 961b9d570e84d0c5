#!/usr/bin/env bash
# Step 10: boot. fstab by partition label, and the Pi boot files (kernel, initrd, device trees,
# GPU firmware, config.txt, cmdline.txt naming the root label) in /boot/firmware, which the
# assemble step turns into the FAT partition.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rootfs=$1

install -m 0644 "$here/files/fstab" "$rootfs/etc/fstab"
install -m 0644 "$here/files/raspi-firmware" "$rootfs/etc/default/raspi-firmware"
install -m 0644 "$here/files/raspi-firmware-custom" "$rootfs/etc/default/raspi-firmware-custom"
mkdir -p "$rootfs/boot/firmware"

# Step 00 held update-initramfs back while packages were installed: release it, build once.
if [ -e "$rootfs/usr/sbin/update-initramfs.superdist-build" ]; then
  rm "$rootfs/usr/sbin/update-initramfs"
  chroot "$rootfs" dpkg-divert --quiet --local --rename --divert /usr/sbin/update-initramfs.superdist-build --remove /usr/sbin/update-initramfs
fi
for kernel in "$rootfs"/boot/vmlinuz-*; do
  chroot "$rootfs" update-initramfs -c -k "${kernel##*/vmlinuz-}"
done
# raspi-firmware's hook copies kernel, initrd, device trees and firmware to /boot/firmware and
# writes config.txt and cmdline.txt from the settings above.
chroot "$rootfs" env DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware
grep -q 'root=LABEL=RASPIROOT' "$rootfs/boot/firmware/cmdline.txt" \
  || { echo "10-boot: cmdline.txt does not name LABEL=RASPIROOT:" >&2; cat "$rootfs/boot/firmware/cmdline.txt" >&2; exit 1; }
