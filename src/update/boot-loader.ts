// What the update agent needs of the boot loader that holds the two root slots (A and B). The
// running slot is never written; the other one is, and the next boot tries it once (tryboot); only
// commit() makes it the slot every later boot uses. So a power cut at any moment leaves the
// committed slot, which booted before, as what the firmware boots.

export type Slot = 'A' | 'B';

export function otherSlot(s: Slot): Slot {
  return s === 'A' ? 'B' : 'A';
}

/** The image inside a verified bundle: `size` bytes of `path` from `offset`, with their SHA-256. */
export interface SlotImage {
  path: string;
  offset: number;
  size: number;
  sha256: string;
}

export interface BootLoader {
  /** Human name for status and logs ("raspberry pi tryboot", "files in DIR"). */
  readonly kind: string;
  /** The slot this system booted from. */
  currentSlot(): Promise<Slot>;
  /** The slot every normal boot uses. */
  committedSlot(): Promise<Slot>;
  /** Writes the image into `slot` (never the running one) and checks what was written (SHA-256). */
  writeInactiveSlot(slot: Slot, image: SlotImage): Promise<void>;
  /** The next reboot (only that one) boots `slot`. */
  setTryboot(slot: Slot): Promise<void>;
  /**
   * Reboots: into the tryboot slot when `tryboot`, else into the committed slot. On a real board it
   * does not return (the system goes down); a stand-in returns once the "next boot" took place.
   */
  reboot(tryboot: boolean): Promise<void>;
  /** Makes `slot` the committed one (every later boot). */
  commit(slot: Slot): Promise<void>;
}
