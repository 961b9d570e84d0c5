// systemd watchdog: ping every WatchdogSec/3, but only while the service is healthy — its event
// loop is not lagging and the engine tick ran recently. A wedged service stops pinging and
// systemd restarts it (Restart=on-failure); a single slow round only skips one ping: the next one
// still comes a third of the timeout before systemd gives up (at WatchdogSec/2 a skipped ping put the
// next one exactly on the deadline, so one slow round was a restart). The lag the service built up
// while it started is not held against the first round (TimeoutStartSec judges the start).
import { performance } from 'node:perf_hooks';

/** Worst event-loop delay tolerated between two checks (the engine ticks every ~100 ms). */
export const MAX_EVENT_LOOP_LAG_MS = 1000;
/** The engine tick is overdue after this many tick periods ... */
export const TICK_OVERDUE_PERIODS = 20;
/** ... and never before this long. */
export const MIN_TICK_OVERDUE_MS = 2000;
/** Event-loop delay sampling period. */
export const LAG_RESOLUTION_MS = 50;

export function tickOverdueAfterMs(tickMs: number): number {
  return Math.max(MIN_TICK_OVERDUE_MS, TICK_OVERDUE_PERIODS * tickMs);
}

/**
 * Ping period for a WATCHDOG_USEC value: a third of the timeout (sd_watchdog_enabled(3) asks for at
 * most half), so one withheld ping is survived and two in a row are not.
 */
export function watchdogIntervalMs(watchdogUsec: number): number {
  return Math.max(1, Math.floor(watchdogUsec / 3000));
}

/** Largest event-loop delay since the last reset. */
export interface LagProbe {
  start(): void;
  stop(): void;
  /** Max delay (ms) since the last call, then starts a new window. */
  takeMaxMs(): number;
}

/**
 * Measures how late a steady timer fires: a blocked or overloaded event loop delays it by about
 * as long as it was stuck. (perf_hooks.monitorEventLoopDelay misses a single long block.)
 */
export function eventLoopLagProbe(resolutionMs = LAG_RESOLUTION_MS): LagProbe {
  let timer: NodeJS.Timeout | undefined;
  let last = 0;
  let max = 0;
  return {
    start() {
      if (timer) return;
      last = performance.now();
      timer = setInterval(() => {
        const t = performance.now();
        max = Math.max(max, t - last - resolutionMs);
        last = t;
      }, resolutionMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    takeMaxMs() {
      // A check may itself run after a block the timer has not seen yet: counted here, and not
      // again by the timer's next (overdue) run.
      const now = performance.now();
      const pending = timer ? now - last - resolutionMs : 0;
      const ms = Math.max(0, max, pending);
      max = 0;
      if (timer) last = now;
      return ms;
    },
  };
}

export interface HealthVerdict {
  healthy: boolean;
  /** Why not, for the log. */
  reason?: string;
  lagMs: number;
  /** Age of the last engine tick; undefined while no tick was reported. */
  tickAgeMs?: number;
  /**
   * False when the service has reported no engine tick for longer than the overdue limit since it
   * started: the service does not report ticks at all, so only the event loop is judged.
   */
  tickTracked: boolean;
}

export interface ServiceHealthOptions {
  now: () => number;
  lag: LagProbe;
  maxLagMs?: number;
  tickOverdueMs: number;
}

/** Event-loop lag and engine-tick freshness of the running service. */
export class ServiceHealth {
  private expectSince: number;
  private lastTick: number | undefined;
  private paused = false;
  private readonly maxLagMs: number;

  constructor(private readonly opts: ServiceHealthOptions) {
    this.maxLagMs = opts.maxLagMs ?? MAX_EVENT_LOOP_LAG_MS;
    this.expectSince = opts.now();
  }

  start(): void {
    this.opts.lag.start();
  }

  stop(): void {
    this.opts.lag.stop();
  }

  /**
   * Forgets the event-loop lag measured so far: called when the watchdog starts, after the service
   * started (a slow board's start blocks the loop for seconds; the start has its own timeout).
   */
  forgetLag(): void {
    this.opts.lag.takeMaxMs();
  }

  /** The engine ran its tick (the service's onTick hook). */
  tick(): void {
    this.lastTick = this.opts.now();
  }

  /** A (re)started service: ticks are expected from now on. Ends a pause. */
  expectTicks(): void {
    this.expectSince = this.opts.now();
    this.lastTick = undefined;
    this.paused = false;
  }

  /** While the service is deliberately stopped (a restart on reload), ticks are not expected. */
  pause(): void {
    this.paused = true;
  }

  check(): HealthVerdict {
    const now = this.opts.now();
    const lagMs = Math.round(this.opts.lag.takeMaxMs());
    const overdue = this.opts.tickOverdueMs;
    let tickAgeMs: number | undefined;
    let tickTracked = true;
    let reason: string | undefined;
    if (this.lastTick !== undefined) tickAgeMs = now - this.lastTick;
    if (this.paused) {
      // restarting: judged on the event loop only
    } else if (tickAgeMs !== undefined) {
      if (tickAgeMs > overdue) reason = `engine tick overdue: last one ${tickAgeMs} ms ago (limit ${overdue} ms)`;
    } else if (now - this.expectSince > overdue) {
      tickTracked = false;
    }
    if (!reason && lagMs > this.maxLagMs) reason = `event loop lagging ${lagMs} ms (limit ${this.maxLagMs} ms)`;
    const verdict: HealthVerdict = { healthy: reason === undefined, lagMs, tickTracked };
    if (reason) verdict.reason = reason;
    if (tickAgeMs !== undefined) verdict.tickAgeMs = tickAgeMs;
    return verdict;
  }
}

export interface WatchdogOptions {
  intervalMs: number;
  health: { check(): HealthVerdict };
  /** Sends WATCHDOG=1. */
  ping(): unknown;
  onUnhealthy(v: HealthVerdict): void;
  onRecovered(): void;
  /** Called once when the service turns out not to report engine ticks. */
  onTickUntracked?(): void;
}

/** Pings every interval while healthy; reports the first unhealthy round and the recovery. */
export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private unhealthy = false;
  private untrackedReported = false;

  constructor(private readonly opts: WatchdogOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.round(), this.opts.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One check-and-maybe-ping round (the timer calls it; tests may too). */
  round(): HealthVerdict {
    const v = this.opts.health.check();
    if (!v.tickTracked && !this.untrackedReported) {
      this.untrackedReported = true;
      this.opts.onTickUntracked?.();
    }
    if (v.healthy) {
      if (this.unhealthy) {
        this.unhealthy = false;
        this.opts.onRecovered();
      }
      this.opts.ping();
    } else if (!this.unhealthy) {
      this.unhealthy = true;
      this.opts.onUnhealthy(v);
    }
    return v;
  }
}
