// The `update` section of the configuration (src/config/schema.ts): firmware updates in the field
// (docs/updates.md): which keys a bundle may be signed by, how often the update channel is checked,
// the health check after the trial boot, and the boot loader that holds the A/B slots.
import { z } from 'zod';

export const updateConfigSchema = z
  .object({
    enabled: z.union([z.boolean(), z.literal('auto')], { error: 'expected true, false or "auto"' }).default('auto').describe('The update agent: `auto`: on under `superdist daemon` on a box (node, main, local), off for foreground commands; true/false force it.'),
    trustedKeys: z.array(z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected a raw Ed25519 public key (43 base64url characters)')).default([]).describe('Public keys (raw Ed25519, base64url) whose signed bundles this box installs, besides the operator CA it was enrolled under (superdist drm enroll).'),
    hardware: z.string().regex(/^([0-9A-Za-z._,+-]{1,64})?$/, 'expected 1-64 letters, digits and . _ , + -').default('').describe("This box's hardware id, matched against a bundle's; '' = detected (the device tree's first `compatible` entry, else PLATFORM-ARCH)."),
    auto: z.boolean().default(true).describe('Install a newer bundle as soon as it is found; off: wait for `superdist update apply` (or Apply on the owner page).'),
    checkPeriodMs: z.number().int().min(1000).default(15 * 60_000).describe('How often the tracker is asked for bundles on the update channel (ms).'),
    healthWindowMs: z.number().int().min(1000).default(5 * 60_000).describe('After the trial boot, the new slot is committed once the daemon is ready, the engine ticks and the tracker answered within this window (ms); otherwise the box boots back into the old slot.'),
    maxInFlightPerPartner: z.number().int().min(1).default(2).describe("The bundle's download asks a partner for at most this many pieces at once (a background download: what the TV plays keeps the bandwidth)."),
    bootLoader: z.enum(['auto', 'rpi', 'file']).default('auto').describe('`rpi`: Raspberry Pi tryboot with autoboot.txt (tryboot_a_b=1) and the slot partitions; `file`: a file per slot in update.slotDir (hosts without slots, tests); `auto`: rpi when bootDir/autoboot.txt exists, else file.'),
    bootDir: z.string().min(1).default('/boot/select').describe('rpi: the mounted boot-selection partition (the first) that holds autoboot.txt.'),
    disk: z.string().min(1).default('/dev/mmcblk0').describe('rpi: the disk whose partitions are the slots (partition N is DISKpN, or DISKN for /dev/sdX).'),
    slotPartitions: z.array(z.number().int().min(1).max(128)).length(2, 'expected two partition numbers: slot A and slot B').default([2, 3]).describe('rpi: boot partition numbers of slot A and slot B (the boot_partition values written to autoboot.txt).'),
    rootPartitions: z.array(z.number().int().min(1).max(128)).length(2, 'expected two partition numbers: slot A and slot B').default([5, 6]).describe('rpi: root filesystem partition numbers of slot A and slot B.'),
    rebootRequest: z.string().default('/run/superdist/reboot-request').describe("rpi: the reboot is asked of the image's superdist-reboot.path unit by writing this file (its content: the reboot argument, `0 tryboot` or empty); '' = run `systemctl reboot` directly."),
    slotDir: z.string().default('').describe("file: directory of slot-A.img, slot-B.img and boot.json; '' = STATE/update/slots."),
  })
  .strict()
  .prefault({});

export type UpdateConfig = z.infer<typeof updateConfigSchema>;
