// Virtual time for the simulator: a Clock whose now() only moves when advance() runs the timer
// queue. Timers due at the same time run in the order they were scheduled (FIFO).
import type { Clock } from '../engine/ports.js';

export interface TimerHandle {
  cancel(): void;
}

/** A queued timer is its own handle (one allocation per event: the simulator schedules millions). */
class Timer implements TimerHandle {
  cancelled = false;
  constructor(
    readonly at: number,
    readonly order: number,
    readonly fn: () => void,
  ) {}

  cancel(): void {
    this.cancelled = true;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}

export class VirtualClock implements Clock {
  private time: number;
  private order = 0;
  private readonly heap: Timer[] = [];

  constructor(startMs = 0) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  /** Timers still queued (cancelled ones included until they surface). */
  get pending(): number {
    return this.heap.length;
  }

  /** Runs `fn` after `delayMs` of virtual time (0 or less: at the current time, after the caller). */
  schedule(delayMs: number, fn: () => void): TimerHandle {
    return this.scheduleAt(this.time + Math.max(0, delayMs), fn);
  }

  scheduleAt(atMs: number, fn: () => void): TimerHandle {
    const timer = new Timer(Math.max(atMs, this.time), this.order++, fn);
    this.push(timer);
    return timer;
  }

  /** Advances time by `ms`, running every timer due on the way; returns how many ran. */
  advance(ms: number): number {
    return this.advanceTo(this.time + Math.max(0, ms));
  }

  advanceTo(targetMs: number): number {
    let ran = 0;
    for (;;) {
      const top = this.heap[0];
      if (!top || top.at > targetMs) break;
      this.pop();
      if (top.cancelled) continue;
      this.time = top.at;
      top.fn();
      ran++;
    }
    if (targetMs > this.time) this.time = targetMs;
    return ran;
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as Timer;
      if (!before(t, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = t;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (!last || h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(h[r] as Timer, h[l] as Timer) ? r : l;
      const c = h[child] as Timer;
      if (!before(c, last)) break;
      h[i] = c;
      i = child;
    }
    h[i] = last;
  }
}
