// A pure token bucket with an injected clock (thesis §4.5.2.1, "Token Bucket architecture").
//
// Tokens accrue at `ratePerSec` up to `capacity`. The live output uses one token per millisecond of
// media, a rate of 1000 tokens/s (real time) and a capacity equal to the player's buffer, so a
// 1 s chunk costs 1000 tokens — "one token per chunk duration" — and the player is never sent more
// than its buffer can hold ahead of what it has played. When data arrives slower than real time,
// tokens pile up (to `capacity`) and allow a controlled burst later.
import type { Clock } from '../engine/ports.js';

export interface TokenBucketOptions {
  /** Tokens added per second (> 0). */
  ratePerSec: number;
  /** Largest number of tokens the bucket holds (> 0): the burst size. */
  capacity: number;
  /** Tokens at construction; defaults to `capacity` (a full bucket). */
  initialTokens?: number;
  clock: Clock;
}

export class TokenBucket {
  private rate: number;
  private readonly capacity: number;
  private readonly clock: Clock;
  private level: number;
  private lastRefill: number;

  constructor(opts: TokenBucketOptions) {
    if (!(opts.ratePerSec > 0) || !Number.isFinite(opts.ratePerSec)) {
      throw new RangeError(`token bucket rate must be a positive number of tokens/s, got ${opts.ratePerSec}`);
    }
    if (!(opts.capacity > 0) || !Number.isFinite(opts.capacity)) {
      throw new RangeError(`token bucket capacity must be a positive number of tokens, got ${opts.capacity}`);
    }
    const initial = opts.initialTokens ?? opts.capacity;
    if (!(initial >= 0) || initial > opts.capacity) {
      throw new RangeError(`token bucket initial tokens must be within 0..${opts.capacity}, got ${initial}`);
    }
    this.rate = opts.ratePerSec;
    this.capacity = opts.capacity;
    this.clock = opts.clock;
    this.level = initial;
    this.lastRefill = opts.clock.now();
  }

  /** Tokens available now (may be negative after an oversized take, see `tryTake`). */
  available(): number {
    this.refill();
    return this.level;
  }

  get burstCapacity(): number {
    return this.capacity;
  }

  get ratePerSecond(): number {
    return this.rate;
  }

  /**
   * Takes `n` tokens when they are available and returns true; otherwise takes nothing.
   * A request larger than the capacity can never be met in full: it is granted when the bucket is
   * full and leaves the bucket in debt (negative), so the long-run rate still holds.
   */
  tryTake(n: number): boolean {
    if (!(n >= 0)) throw new RangeError(`cannot take ${n} tokens`);
    this.refill();
    if (this.level < Math.min(n, this.capacity)) return false;
    this.level -= n;
    return true;
  }

  /** Takes `n` tokens unconditionally (the level may go negative). */
  forceTake(n: number): void {
    if (!(n >= 0)) throw new RangeError(`cannot take ${n} tokens`);
    this.refill();
    this.level -= n;
  }

  /** Milliseconds until `tryTake(n)` would succeed (0 when it would succeed now). */
  msUntil(n: number): number {
    this.refill();
    const need = Math.min(n, this.capacity) - this.level;
    if (need <= 0) return 0;
    return Math.ceil((need / this.rate) * 1000);
  }

  /** Changes the rate from now on (tokens accrued so far are kept). */
  setRate(ratePerSec: number): void {
    if (!(ratePerSec > 0) || !Number.isFinite(ratePerSec)) {
      throw new RangeError(`token bucket rate must be a positive number of tokens/s, got ${ratePerSec}`);
    }
    this.refill();
    this.rate = ratePerSec;
  }

  /** Sets the level to `tokens` (clamped to the capacity), e.g. a full bucket when playback restarts. */
  reset(tokens = this.capacity): void {
    this.level = Math.min(tokens, this.capacity);
    this.lastRefill = this.clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = now - this.lastRefill;
    this.lastRefill = now;
    if (elapsed <= 0) return; // a clock that stepped back adds nothing
    this.level = Math.min(this.capacity, this.level + (elapsed * this.rate) / 1000);
  }
}
