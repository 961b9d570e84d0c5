#!/usr/bin/env bash
# Step 10: boot. fstab (data partition and its bind mounts), and the Pi boot files (kernel,
# initrd, device trees, GPU firmware, config.txt, cmdline.txt) in /boot/firmware, which the
# assemble step turns into the FAT boot partition of slot A; cmdline-a.txt and cmdline-b.txt name
# each slot's root and boot partitions by PARTUUID (docs/updates.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../config"
rootfs=$1
id=${IMAGE_DISK_ID#0x}

install -m 0644 "$here/files/fstab" "$rootfs/etc/fstab"
sed "s|@ROOTPART@|PARTUUID=$id-05|" "$here/files/raspi-firmware" > "$rootfs/etc/default/raspi-firmware"
chmod 0644 "$rootfs/etc/default/raspi-firmware"
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
fw="$rootfs/boot/firmware"
grep -qE "root=PARTUUID=$id-05( |$)" "$fw/cmdline.txt" && grep -qw rw "$fw/cmdline.txt" \
  || { echo "10-boot: cmdline.txt does not mount PARTUUID=$id-05 read-write:" >&2; cat "$fw/cmdline.txt" >&2; exit 1; }
grep -q '^cmdline=cmdline-b.txt$' "$fw/config.txt" || { echo "10-boot: config.txt lacks the slot filters" >&2; exit 1; }
# One command line per slot: its root partition, and its boot partition on /boot/firmware.
for slot in a:02:05 b:03:06; do
  IFS=: read -r name boot root <<<"$slot"
  line=$(tr -d '\n' < "$fw/cmdline.txt" | sed "s|root=PARTUUID=$id-05|root=PARTUUID=$id-$root|")
  printf '%s systemd.mount-extra=PARTUUID=%s-%s:/boot/firmware:vfat:rw,noatime,umask=0077,nofail\n' "$line" "$id" "$boot" > "$fw/cmdline-$name.txt"
done
