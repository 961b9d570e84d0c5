#!/usr/bin/env bash
# Step 90: the SD card image, without loop devices or mounts. /boot/firmware becomes a FAT32
# partition (mkfs.vfat + mtools), the rest an ext4 partition (mke2fs -d), both placed into an MBR
# image (the Pi firmware reads MBR on every model) at 4 MiB boundaries.
# Usage: run.sh ROOTFS WORKDIR OUTPUT.img
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../config"
source "$here/../../lib/common.sh"
rootfs=$1 work=$2 out=$3
MIB=$((1024 * 1024))

# The boot files move out of the root tree into their own staging directory.
bootfs="$work/bootfs"
rm -rf "$bootfs"
mv "$rootfs/boot/firmware" "$bootfs"
mkdir -m 0755 "$rootfs/boot/firmware"

boot_part="$work/boot.part" root_part="$work/root.part"
rm -f "$boot_part" "$root_part"
mkfs.vfat -F 32 -n "$IMAGE_BOOT_LABEL" -C "$boot_part" $((IMAGE_BOOT_MIB * 1024)) >/dev/null
mcopy -s -p -Q -m -i "$boot_part" "$bootfs"/* ::/

used_mib=$(du -s --block-size=1M "$rootfs" | cut -f1)
root_mib=$(( (used_mib * 115 / 100 + IMAGE_ROOT_HEADROOM_MIB + 3) / 4 * 4 ))
mke2fs -q -t ext4 -L "$IMAGE_ROOT_LABEL" -E root_owner=0:0 -d "$rootfs" "$root_part" "${root_mib}M"

first=$((IMAGE_FIRST_PARTITION_MIB))
root_start=$((first + IMAGE_BOOT_MIB))
total_mib=$((root_start + root_mib))
rm -f "$out"
truncate -s "${total_mib}M" "$out"
sfdisk --quiet "$out" <<SFDISK
label: dos
unit: sectors
start=$((first * 2048)), size=$((IMAGE_BOOT_MIB * 2048)), type=c, bootable
start=$((root_start * 2048)), size=$((root_mib * 2048)), type=83
SFDISK
dd if="$boot_part" of="$out" bs=1M seek="$first" conv=notrunc,sparse status=none
dd if="$root_part" of="$out" bs=1M seek="$root_start" conv=notrunc,sparse status=none
rm -f "$boot_part" "$root_part"
log "image $out: ${total_mib} MiB (boot ${IMAGE_BOOT_MIB} MiB FAT32, root ${root_mib} MiB ext4, ${used_mib} MiB used)"
