// Per-partner delivery estimates of one content, learnt from answers to our DataChunkReqs:
//  - rttMs: EWMA of request → DataChunkReject times (small answers: round trip plus queueing);
//  - throughputBps: EWMA of chunk bytes over service time, where the service time of a response is
//    measured from max(request sent, previous response from the same partner) — with pipelined
//    requests this is the partner's delivery rate to us, not the full request latency;
//  - delayMs / delayDevMs: EWMA of request → DataChunkResp times (the whole delivery delay, queueing
//    at the partner and behind its uplink included) and of their deviation, as TCP's RTO estimator;
//    a request's timeout is delayMs + 4 × delayDevMs within [min, max] (timeoutMs), so a partner
//    behind a slow, queueing uplink is not timed out (and asked twice) while its answer is on the way;
//  - busyUntil: the partner said 'busy'; not asked before then;
//  - window: how many requests we keep outstanding at the partner, adjusted like a congestion
//    window (AIMD): +1/window per chunk delivered, halved on 'busy', back to 1 on a timeout — so
//    each requester settles at its share of a loaded partner instead of hammering it with requests
//    that are refused.
// From these the picker estimates when a new request would complete (expectedArrival): the partner
// with the most spare capacity is the one that would deliver soonest — and never sooner than its
// measured delivery delay. Timeouts halve the throughput
// estimate. Pure state; time comes from the caller.

export interface PeerEstimate {
  rttMs: number;
  throughputBps: number;
  delayMs: number;
  delayDevMs: number;
  /** Responses received (0: estimates are still the initial guesses). */
  samples: number;
  lastResponseAt: number;
  busyUntil: number;
  window: number;
}

export interface PeerEstimatesOptions {
  initialRttMs: number;
  initialThroughputBps: number;
  /** Weight of a new sample, in percent. */
  weightPct: number;
  /** Largest request window (the per-partner in-flight cap). */
  maxWindow: number;
  /** Window of a partner we have not heard from yet (default 2). */
  initialWindow?: number;
}

/** Request window of a partner we have not heard from yet. */
const INITIAL_WINDOW = 2;

/** Floor of the throughput estimate (bits/s), so one bad sample cannot make a partner infinitely slow. */
const MIN_THROUGHPUT_BPS = 8_000;

export class PeerEstimates {
  private readonly peers = new Map<string, PeerEstimate>();
  private readonly w: number;

  constructor(private readonly opts: PeerEstimatesOptions) {
    this.w = Math.min(1, Math.max(0.01, opts.weightPct / 100));
  }

  get(peerId: string): PeerEstimate {
    let e = this.peers.get(peerId);
    if (!e) {
      e = {
        rttMs: this.opts.initialRttMs,
        throughputBps: this.opts.initialThroughputBps,
        delayMs: 0,
        delayDevMs: 0,
        samples: 0,
        lastResponseAt: -Infinity,
        busyUntil: -Infinity,
        window: Math.min(this.opts.initialWindow ?? INITIAL_WINDOW, this.opts.maxWindow),
      };
      this.peers.set(peerId, e);
    }
    return e;
  }

  remove(peerId: string): void {
    this.peers.delete(peerId);
  }

  /** A DataChunkResp of `bytes` arrived for a request sent at `sentAt`. */
  onResponse(peerId: string, sentAt: number, now: number, bytes: number): void {
    const e = this.get(peerId);
    const serviceMs = Math.max(1, now - Math.max(sentAt, e.lastResponseAt));
    const sample = (bytes * 8000) / serviceMs;
    e.throughputBps = e.samples === 0 ? sample : e.throughputBps + this.w * (sample - e.throughputBps);
    e.throughputBps = Math.max(MIN_THROUGHPUT_BPS, e.throughputBps);
    const delay = Math.max(0, now - sentAt);
    if (e.samples === 0) {
      e.delayMs = delay;
      e.delayDevMs = delay / 2;
    } else {
      e.delayDevMs += (Math.abs(delay - e.delayMs) - e.delayDevMs) / 4;
      e.delayMs += (delay - e.delayMs) / 8;
    }
    e.samples++;
    e.lastResponseAt = now;
    e.window = Math.min(this.opts.maxWindow, e.window + 1 / e.window);
  }

  /** A DataChunkReject arrived for a request sent at `sentAt`. */
  onReject(peerId: string, sentAt: number, now: number, busy: boolean, busyBackoffMs: number): void {
    const e = this.get(peerId);
    const sample = Math.max(0, now - sentAt);
    e.rttMs = e.rttMs + this.w * (sample - e.rttMs);
    if (busy) {
      e.busyUntil = now + busyBackoffMs;
      e.window = Math.max(1, e.window / 2);
    }
  }

  /** A request to the partner timed out after `waitedMs`: its delay is at least that (next timeout longer). */
  onTimeout(peerId: string, waitedMs = 0): void {
    const e = this.get(peerId);
    if (e.samples > 0 && waitedMs > e.delayMs) {
      e.delayDevMs = Math.max(e.delayDevMs, (waitedMs - e.delayMs) / 2);
      e.delayMs = waitedMs;
    }
    e.throughputBps = Math.max(MIN_THROUGHPUT_BPS, e.throughputBps / 2);
    e.window = 1;
  }

  /** Requests we may keep outstanding at the partner now. */
  windowOf(peerId: string): number {
    return Math.max(1, Math.floor(this.get(peerId).window));
  }

  isBusy(peerId: string, now: number): boolean {
    return (this.peers.get(peerId)?.busyUntil ?? -Infinity) > now;
  }

  /** When a request for `bytes` sent now would arrive, with `queuedBytes` already requested from the partner. */
  expectedArrival(peerId: string, now: number, queuedBytes: number, bytes: number): number {
    const e = this.get(peerId);
    const byRate = e.rttMs + ((queuedBytes + bytes) * 8000) / e.throughputBps;
    return now + (e.samples > 0 ? Math.max(byRate, e.delayMs) : byRate);
  }

  /** Timeout of a request sent to the partner now: `fallbackMs` before its first response. */
  timeoutMs(peerId: string, fallbackMs: number, minMs: number, maxMs: number): number {
    const e = this.peers.get(peerId);
    if (!e || e.samples === 0) return fallbackMs;
    return Math.min(maxMs, Math.max(minMs, e.delayMs + 4 * e.delayDevMs));
  }
}
