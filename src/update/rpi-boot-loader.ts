// Raspberry Pi A/B slots with the firmware's tryboot (docs/updates.md). A slot is a pair of
// partitions: a FAT boot partition (kernel, initrd, config.txt, cmdline.txt) and an ext4 root.
// The small first partition (mounted at update.bootDir) holds autoboot.txt with tryboot_a_b=1:
// [all] names the committed slot's boot partition, [tryboot] the one the next
// `reboot "0 tryboot"` starts once. The firmware tells which partition it booted from in the
// device tree (chosen/bootloader/partition). A slot image is the boot partition's image followed
// by the root filesystem's (scripts/build-image writes one); the boot part is as long as the
// boot partition.
import { execFile } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../platform/durable-file.js';
import { otherSlot, type BootLoader, type Slot, type SlotImage } from './boot-loader.js';
import { checkWritten, copyRange } from './slot-writer.js';

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

/** Size in bytes of a partition device (sysfs), or of a regular file standing in for one. */
export function partitionBytes(device: string): number {
  try {
    return Number(readFileSync(`/sys/class/block/${basename(device)}/size`, 'utf8').trim()) * 512;
  } catch {
    const fd = openSync(device, 'r');
    try {
      return fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
  }
}

export interface RpiBootLoaderOptions {
  bootDir: string;
  disk: string;
  /** Boot partitions of slot A and B (the autoboot.txt boot_partition values). */
  partitions: readonly [number, number];
  /** Root partitions of slot A and B. */
  rootPartitions: readonly [number, number];
  /** Where the firmware reports the boot partition (a 32-bit big-endian number). */
  bootPartitionFile?: string;
  /**
   * A file whose creation asks a privileged unit to reboot (its content: the reboot argument,
   * "0 tryboot" or empty); '' = run systemctl reboot here.
   */
  rebootRequest?: string;
  /** Runs a command; default: execFile. */
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
    const i = slot === 'A' ? 0 : 1;
    const boot = partitionDevice(this.o.disk, this.o.partitions[i]);
    const root = partitionDevice(this.o.disk, this.o.rootPartitions[i]);
    const bootBytes = partitionBytes(boot);
    const rootBytes = image.size - bootBytes;
    if (rootBytes <= 0) throw new Error(`the slot image (${image.size} bytes) is not longer than the boot partition ${boot} (${bootBytes} bytes): not a boot + root slot image`);
    if (rootBytes > partitionBytes(root)) throw new Error(`the root filesystem of the slot image (${rootBytes} bytes) does not fit ${root} (${partitionBytes(root)} bytes)`);
    await copyRange({ path: image.path, offset: image.offset, size: bootBytes }, boot, { create: false });
    await copyRange({ path: image.path, offset: image.offset + bootBytes, size: rootBytes }, root, { create: false });
    await checkWritten([{ path: boot, offset: 0, size: bootBytes }, { path: root, offset: 0, size: rootBytes }], image);
  }

  async setTryboot(slot: Slot): Promise<void> {
    this.writeAutoboot(await this.committedSlot(), slot);
  }

  async reboot(tryboot: boolean): Promise<void> {
    const arg = tryboot ? '0 tryboot' : '';
    if (this.o.rebootRequest) writeFileAtomic(this.o.rebootRequest, `${arg}\n`, 0o644);
    else await (this.o.run ?? runCommand)('systemctl', arg ? ['reboot', arg] : ['reboot']);
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
