// A boot loader stand-in for hosts without slots and for tests: slot-A.img and slot-B.img in a
// directory play the two slots, boot.json the firmware's choice ({ committed, tryboot, current }).
// reboot() does what the firmware would do on the next boot and returns: the "boot" takes place
// without the process ending.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../platform/durable-file.js';
import type { BootLoader, Slot, SlotImage } from './boot-loader.js';
import { writeSlot } from './slot-writer.js';

interface BootFile {
  committed: Slot;
  tryboot: Slot | null;
  current: Slot;
}

const isSlot = (v: unknown): v is Slot => v === 'A' || v === 'B';

export class FileBootLoader implements BootLoader {
  readonly kind: string;

  constructor(private readonly dir: string) {
    this.kind = `files in ${dir}`;
  }

  slotFile(slot: Slot): string {
    return join(this.dir, `slot-${slot}.img`);
  }

  async currentSlot(): Promise<Slot> {
    return this.read().current;
  }

  async committedSlot(): Promise<Slot> {
    return this.read().committed;
  }

  async writeInactiveSlot(slot: Slot, image: SlotImage): Promise<void> {
    if (slot === this.read().current) throw new Error(`slot ${slot} is the running slot: it is never written`);
    mkdirSync(this.dir, { recursive: true });
    await writeSlot(this.slotFile(slot), image, { create: true });
  }

  async setTryboot(slot: Slot): Promise<void> {
    this.write({ ...this.read(), tryboot: slot });
  }

  async reboot(tryboot: boolean): Promise<void> {
    const b = this.read();
    this.write({ committed: b.committed, tryboot: null, current: tryboot && b.tryboot ? b.tryboot : b.committed });
  }

  async commit(slot: Slot): Promise<void> {
    this.write({ ...this.read(), committed: slot });
  }

  private read(): BootFile {
    const file = join(this.dir, 'boot.json');
    if (!existsSync(file)) return { committed: 'A', tryboot: null, current: 'A' };
    const raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<BootFile>;
    if (!isSlot(raw.committed) || !isSlot(raw.current)) throw new Error(`${file}: expected { committed, current } slots A or B`);
    return { committed: raw.committed, current: raw.current, tryboot: isSlot(raw.tryboot) ? raw.tryboot : null };
  }

  private write(b: BootFile): void {
    writeFileAtomic(join(this.dir, 'boot.json'), `${JSON.stringify(b)}\n`, 0o644);
  }
}
