// Events per second over a short sliding window of one-second slots (joins/s in tracker status).
import type { Clock } from '../engine/ports.js';

/** Seconds the rate is averaged over. */
export const RATE_WINDOW_S = 5;

export class RateMeter {
  private readonly slots = new Array<number>(RATE_WINDOW_S + 1).fill(0);
  private slotSecond = 0;

  constructor(private readonly clock: Clock) {}

  add(n = 1): void {
    this.advance();
    this.slots[this.slotSecond % this.slots.length] = (this.slots[this.slotSecond % this.slots.length] ?? 0) + n;
  }

  /** Average over the last RATE_WINDOW_S whole seconds. */
  perSecond(): number {
    this.advance();
    let sum = 0;
    for (let k = 1; k <= RATE_WINDOW_S; k++) sum += this.slots[(this.slotSecond - k + this.slots.length * 2) % this.slots.length] ?? 0;
    return Math.round((sum / RATE_WINDOW_S) * 10) / 10;
  }

  private advance(): void {
    const sec = Math.floor(this.clock.now() / 1000);
    if (this.slotSecond === 0) this.slotSecond = sec;
    while (this.slotSecond < sec) {
      this.slotSecond++;
      this.slots[this.slotSecond % this.slots.length] = 0;
      if (sec - this.slotSecond > this.slots.length) this.slotSecond = sec - this.slots.length;
    }
  }
}
