// Raspberry Pi A/B slots with the firmware's tryboot (docs/updates.md): the small first partition
// (mounted at update.bootDir) holds autoboot.txt with tryboot_a_b=1; [all] names the committed
// slot's boot partition, [tryboot] the slot the next `reboot '0 tryboot'` starts once. The firmware
// tells which partition it booted from in the device tree (chosen/bootloader/partition).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../platform/durable-file.js';
import { otherSlot, type BootLoader, type Slot, type SlotImage } from './boot-loader.js';
import { writeSlot } from './slot-writer.js';

export const BOOTLOADER_PARTITION = '/proc/device-tree/chosen/bootloader/partition';

/** autoboot.txt for `committed` as the normal boot and the other slot as the tryboot one. */
export function autobootText(partitions: readonly [number, number], committed: Slot, tryboot: Slot = otherSlot(committed)): string {
  const part = (s: Slot) => partitions[s === 'A' ? 0 : 1];
  return `[all]\ntryboot_a_b=1\nboot_partition=${part(committed)}\n[tryboot]\nboot_partition=${part(tryboot)}\n`;
}

/** The [all] section's boot_partition of an autoboot.txt, or undefined. */
export function committedPartition(text: string): number | undefined {
  let section = 'all';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const sec = /^\[(\w+)\]$/.exec(line);
    if (sec) section = (sec[1] as string).toLowerCase();
    const m = /^boot_partition=(\d+)$/.exec(line);
    if (m && section === 'all') return Number(m[1]);
  }
  return undefined;
}

export function partitionDevice(disk: string, n: number): string {
  return /\d$/.test(disk) ? `${disk}p${n}` : `${disk}${n}`;
}

export interface RpiBootLoaderOptions {
  bootDir: string;
  disk: string;
  partitions: readonly [number, number];
  /** Where the firmware reports the boot partition (a 32-bit big-endian number). */
  bootPartitionFile?: string;
  /** Runs the reboot; default: systemctl reboot with the firmware's argument. */
  run?: (cmd: string, args: string[]) => Promise<void>;
}

function runCommand(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => execFile(cmd, args, (err) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}`)) : resolve())));
}

export class RpiBootLoader implements BootLoader {
  readonly kind = 'raspberry pi tryboot';

  constructor(private readonly o: RpiBootLoaderOptions) {}

  private slotOf(partition: number, what: string): Slot {
    const i = this.o.partitions.indexOf(partition);
    if (i < 0) throw new Error(`${what}: partition ${partition} is neither slot A (${this.o.partitions[0]}) nor slot B (${this.o.partitions[1]}) (update.slotPartitions)`);
    return i === 0 ? 'A' : 'B';
  }

  async currentSlot(): Promise<Slot> {
    const file = this.o.bootPartitionFile ?? BOOTLOADER_PARTITION;
    const b = readFileSync(file);
    if (b.length < 4) throw new Error(`${file}: expected a 32-bit partition number`);
    return this.slotOf(b.readUInt32BE(0), file);
  }

  async committedSlot(): Promise<Slot> {
    const file = join(this.o.bootDir, 'autoboot.txt');
    const p = committedPartition(readFileSync(file, 'utf8'));
    if (p === undefined) throw new Error(`${file} names no boot_partition in its [all] section`);
    return this.slotOf(p, file);
  }

  async writeInactiveSlot(slot: Slot, image: SlotImage): Promise<void> {
    if (slot === (await this.currentSlot())) throw new Error(`slot ${slot} is the running slot: it is never written`);
    await writeSlot(partitionDevice(this.o.disk, this.o.partitions[slot === 'A' ? 0 : 1]), image, { create: false });
  }

  async setTryboot(slot: Slot): Promise<void> {
    this.writeAutoboot(await this.committedSlot(), slot);
  }

  async reboot(tryboot: boolean): Promise<void> {
    await (this.o.run ?? runCommand)('systemctl', tryboot ? ['reboot', '0 tryboot'] : ['reboot']);
    // The system is going down: wait for it.
    await new Promise(() => undefined);
  }

  async commit(slot: Slot): Promise<void> {
    this.writeAutoboot(slot, otherSlot(slot));
  }

  private writeAutoboot(committed: Slot, tryboot: Slot): void {
    writeFileAtomic(join(this.o.bootDir, 'autoboot.txt'), autobootText(this.o.partitions, committed, tryboot), 0o644);
  }
}
