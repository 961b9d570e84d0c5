// Seeded pseudo-random numbers for the simulator and tests (mulberry32: 32-bit state, fast,
// good enough for simulation; not for cryptography). Implements the engine's Random port.
import type { Random } from '../engine/ports.js';

export class SeededRandom implements Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }

  /** A new independent generator derived from this one (per node streams). */
  fork(): SeededRandom {
    return new SeededRandom(Math.floor(this.next() * 4294967296) ^ 0x9e3779b9);
  }
}
