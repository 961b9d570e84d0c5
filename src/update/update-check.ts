// `superdist doctor`'s look at firmware updates (docs/updates.md): a key to trust, and a boot
// loader the agent can drive (the SD image's autoboot.txt on a partition it may write, and a
// firmware that reports the slot it booted). Pure: the system is seen through DoctorProbes.
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { CheckResult, DoctorProbes } from '../platform/doctor-checks.js';
import { BOOTLOADER_PARTITION, partitionDevice } from './rpi-boot-loader.js';

export function checkUpdates(cfg: Config, p: Pick<DoctorProbes, 'exists' | 'writable'>): CheckResult {
  const name = 'updates';
  const u = cfg.update;
  const keys = u.trustedKeys.length + (p.exists(join(cfg.stateDir, 'drm', 'ca.cert.json')) ? 1 : 0);
  const autoboot = join(u.bootDir, 'autoboot.txt');
  const rpi = u.bootLoader === 'rpi' || (u.bootLoader === 'auto' && p.exists(autoboot));
  if (rpi && !p.exists(autoboot)) {
    return { name, level: 'fail', detail: `update.bootLoader is rpi but ${autoboot} does not exist: no slot can be tried or committed`, fix: `mount the boot selection partition at update.bootDir (the SD image mounts it at /boot/select), or set update.bootLoader` };
  }
  if (rpi && !p.writable(u.bootDir)) {
    return { name, level: 'fail', detail: `${u.bootDir} is not writable here: the agent cannot rewrite autoboot.txt to try or commit a slot`, fix: 'the SD image mounts it with gid=superdist,dmask=0002 (see /etc/fstab); run the doctor as the service user' };
  }
  if (keys === 0) {
    return { name, level: 'warn', detail: 'no update key is trusted: the update channel is not watched and no update is installed', fix: "add the operator's update public key to update.trustedKeys (superdist update key prints it), or enrol the box with the operator CA: superdist drm enroll" };
  }
  if (rpi && !p.exists(BOOTLOADER_PARTITION)) {
    return { name, level: 'warn', detail: `the firmware reports no boot partition (${BOOTLOADER_PARTITION}): the agent cannot tell which slot runs`, fix: 'boot through autoboot.txt with the Raspberry Pi firmware (tryboot_a_b=1)' };
  }
  const slots = rpi
    ? `Raspberry Pi tryboot: ${autoboot}, slot A ${partitionDevice(u.disk, u.slotPartitions[0] as number)} + ${partitionDevice(u.disk, u.rootPartitions[0] as number)}, slot B ${partitionDevice(u.disk, u.slotPartitions[1] as number)} + ${partitionDevice(u.disk, u.rootPartitions[1] as number)}`
    : `slot files in ${u.slotDir || join(cfg.stateDir, 'update', 'slots')} (no A/B partitions here)`;
  return { name, level: 'ok', detail: `${slots}; ${keys} trusted key(s)` };
}
