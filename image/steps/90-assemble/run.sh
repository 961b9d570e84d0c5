#!/usr/bin/env bash
# Step 90: the SD card image, without loop devices or mounts: the A/B layout of image/config
# (docs/updates.md). FAT partitions by mkfs.vfat + mtools, ext4 by mke2fs -d, placed into an MBR
# image (the Pi firmware reads MBR on every model) at 4 MiB boundaries. Beside the image, the
# slot image (boot partition then root filesystem) that `superdist update build --image` signs.
# Usage: run.sh ROOTFS WORKDIR OUTPUT.img
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../config"
source "$here/../../lib/common.sh"
rootfs=$1 work=$2 out=$3
id=${IMAGE_DISK_ID#0x}

# The boot files move out of the root tree into their own staging directory.
bootfs="$work/bootfs"
rm -rf "$bootfs"
mv "$rootfs/boot/firmware" "$bootfs"
mkdir -m 0755 "$rootfs/boot/firmware"

# The data partition starts with the state directory, the configuration and the journal of the
# built tree (the root keeps its copies: they are what a box without the data partition would use).
datafs="$work/datafs"
rm -rf "$datafs"
mkdir -m 0755 "$datafs"
cp -a "$rootfs/var/lib/superdist" "$datafs/superdist"
cp -a "$rootfs/etc/superdist" "$datafs/etc-superdist"
cp -a "$rootfs/var/log/journal" "$datafs/journal"

part() { echo "$work/p$1.part"; }
rm -f "$work"/p*.part
mkfs.vfat -F 16 -n "$IMAGE_SELECT_LABEL" -C "$(part 1)" $((IMAGE_SELECT_MIB * 1024)) >/dev/null
printf '[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n' > "$work/autoboot.txt"
mcopy -Q -m -i "$(part 1)" "$work/autoboot.txt" ::/autoboot.txt
mkfs.vfat -F 32 -n "$IMAGE_BOOT_LABEL" -C "$(part 2)" $((IMAGE_BOOT_MIB * 1024)) >/dev/null
mcopy -s -p -Q -m -i "$(part 2)" "$bootfs"/* ::/
mkfs.vfat -F 32 -n "$IMAGE_BOOT_LABEL" -C "$(part 3)" $((IMAGE_BOOT_MIB * 1024)) >/dev/null

used_mib=$(du -s --block-size=1M "$rootfs" | cut -f1)
root_mib=$(( (used_mib * 115 / 100 + IMAGE_ROOT_HEADROOM_MIB + 3) / 4 * 4 ))
slot_root_mib=$((root_mib + IMAGE_ROOT_SPARE_MIB))
mke2fs -q -t ext4 -L "$IMAGE_ROOT_LABEL" -E root_owner=0:0 -d "$rootfs" "$(part 5)" "${root_mib}M"
mke2fs -q -t ext4 -L "$IMAGE_ROOT_LABEL" -E root_owner=0:0 "$(part 6)" "${slot_root_mib}M"
mke2fs -q -t ext4 -L "$IMAGE_DATA_LABEL" -E root_owner=0:0 -d "$datafs" "$(part 7)" "${IMAGE_DATA_MIB}M"

# Sectors of 512 bytes; every partition starts on a 4 MiB boundary (logical ones leave 4 MiB for
# their extended boot record).
M=2048
p1=$((IMAGE_FIRST_PARTITION_MIB * M)) s1=$((IMAGE_SELECT_MIB * M))
p2=$((p1 + s1)) s2=$((IMAGE_BOOT_MIB * M))
p3=$((p2 + s2)) s3=$s2
p4=$((p3 + s3))
p5=$((p4 + 4 * M)) s5=$((slot_root_mib * M))
p6=$((p5 + s5 + 4 * M)) s6=$s5
p7=$((p6 + s6 + 4 * M)) s7=$((IMAGE_DATA_MIB * M))
s4=$((p7 + s7 - p4))
total_mib=$(( (p7 + s7) / M ))
rm -f "$out"
truncate -s "${total_mib}M" "$out"
sfdisk --quiet "$out" <<SFDISK
label: dos
label-id: 0x$id
unit: sectors
start=$p1, size=$s1, type=e, bootable
start=$p2, size=$s2, type=c
start=$p3, size=$s3, type=c
start=$p4, size=$s4, type=5
start=$p5, size=$s5, type=83
start=$p6, size=$s6, type=83
start=$p7, size=$s7, type=83
SFDISK
for n in 1 2 3 5 6 7; do
  start_var=p$n
  dd if="$(part "$n")" of="$out" bs=4M seek=$(( ${!start_var} * 512 )) oflag=seek_bytes conv=notrunc,sparse status=none
done
# The slot image for updates: slot A's boot partition, then its root filesystem.
slot="${out%.img}.slot"
cat "$(part 2)" "$(part 5)" > "$slot"
rm -f "$work"/p*.part "$work/autoboot.txt"
log "image $out: ${total_mib} MiB (select ${IMAGE_SELECT_MIB} MiB, boot 2 x ${IMAGE_BOOT_MIB} MiB, root 2 x ${slot_root_mib} MiB (${root_mib} MiB filesystem, ${used_mib} MiB used), data ${IMAGE_DATA_MIB} MiB); slot image $slot"
