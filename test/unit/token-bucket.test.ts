import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/player/token-bucket.js';

function manualClock(start = 1000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('TokenBucket', () => {
  it('starts full and refills at the rate up to the capacity', () => {
    const clock = manualClock();
    const b = new TokenBucket({ ratePerSec: 10, capacity: 5, clock });
    expect(b.available()).toBe(5);
    expect(b.tryTake(5)).toBe(true);
    expect(b.available()).toBe(0);
    clock.advance(250);
    expect(b.available()).toBeCloseTo(2.5);
    clock.advance(10_000);
    expect(b.available()).toBe(5);
  });

  it('refuses a take it cannot cover and takes nothing', () => {
    const clock = manualClock();
    const b = new TokenBucket({ ratePerSec: 1, capacity: 3, initialTokens: 1, clock });
    expect(b.tryTake(2)).toBe(false);
    expect(b.available()).toBe(1);
    expect(b.msUntil(2)).toBe(1000);
    clock.advance(1000);
    expect(b.msUntil(2)).toBe(0);
    expect(b.tryTake(2)).toBe(true);
  });

  it('paces one 1 s chunk per second with a burst no larger than the player buffer', () => {
    // One token per ms of media, real-time rate, a 3 s player buffer.
    const clock = manualClock();
    const b = new TokenBucket({ ratePerSec: 1000, capacity: 3000, clock });
    const sentAt: number[] = [];
    for (let tick = 0; tick <= 10_000; tick += 10) {
      while (sentAt.length < 20 && b.tryTake(1000)) sentAt.push(clock.now() - 1000);
      clock.advance(10);
    }
    expect(sentAt.slice(0, 3)).toEqual([0, 0, 0]); // the burst: a full player buffer
    expect(sentAt.slice(3, 6)).toEqual([1000, 2000, 3000]); // then real time
    expect(sentAt.length).toBe(13);
  });

  it('grants an oversized take only from a full bucket and keeps the long-run rate', () => {
    const clock = manualClock();
    const b = new TokenBucket({ ratePerSec: 100, capacity: 50, clock });
    expect(b.tryTake(80)).toBe(true);
    expect(b.available()).toBe(-30);
    expect(b.msUntil(80)).toBe(800); // back to full: 80 tokens at 100/s
    clock.advance(799);
    expect(b.tryTake(80)).toBe(false);
    clock.advance(1);
    expect(b.tryTake(80)).toBe(true);
  });

  it('forceTake, setRate and reset', () => {
    const clock = manualClock();
    const b = new TokenBucket({ ratePerSec: 10, capacity: 10, clock });
    b.forceTake(15);
    expect(b.available()).toBe(-5);
    b.setRate(100);
    clock.advance(100);
    expect(b.available()).toBe(5);
    b.reset();
    expect(b.available()).toBe(10);
    b.reset(0);
    expect(b.available()).toBe(0);
  });

  it('ignores a clock that steps back', () => {
    const clock = manualClock();
    const b = new TokenBucket({ ratePerSec: 10, capacity: 10, initialTokens: 0, clock });
    clock.advance(-5000);
    expect(b.available()).toBe(0);
    clock.advance(100);
    expect(b.available()).toBeCloseTo(1);
  });

  it('rejects nonsense parameters with a clear error', () => {
    const clock = manualClock();
    expect(() => new TokenBucket({ ratePerSec: 0, capacity: 1, clock })).toThrow(/rate must be a positive/);
    expect(() => new TokenBucket({ ratePerSec: 1, capacity: -1, clock })).toThrow(/capacity must be a positive/);
    expect(() => new TokenBucket({ ratePerSec: 1, capacity: 1, initialTokens: 2, clock })).toThrow(/initial tokens/);
    expect(() => new TokenBucket({ ratePerSec: 1, capacity: 1, clock }).tryTake(-1)).toThrow(/cannot take/);
  });
});
