// How much chunk data we may have on the way to partners at once, learnt from when they confirm it
// (LEDBAT-style, RFC 6817, with chunk-level acknowledgements the protocol already carries):
//  - A chunk we served is *in flight* until the receiver's buffer map shows it (or its window moved
//    past it): a map received after the send that holds the id acknowledges it at the map's arrival.
//    Nothing below the transport can see this: bytes handed to the kernel look sent, while behind a
//    shaped uplink they may wait there for seconds.
//  - delay = acknowledgement time − send time. The smallest delay of the last few base periods is
//    the path's fixed part (propagation, map gap); the excess is queueing in front of our uplink.
//  - The window (bytes in flight allowed) starts at two chunks and doubles per window acknowledged
//    (slow start) until the queueing delay first reaches half the target; then it grows while the
//    queueing delay is under targetMs and the window was the limit, shrinks in proportion as it goes over (LEDBAT's controller), and halves
//    when a chunk is never acknowledged (ackTimeoutMs).
//  - rateBps: the delivery rate, as BBR samples it: per acknowledged chunk, the bytes acknowledged
//    while it was on its way ÷ its delay, averaged over the chunks sent while others were still in
//    flight (the uplink was busy; a sample from an idle sender only counts when it is higher). The
//    upload queue uses it to refuse (busy) a request it could not answer in time.
// Pure: time comes from the caller.

export interface SendWindowOptions {
  /** Queueing delay (ms) the window aims for. */
  targetMs: number;
  /** An in-flight chunk not acknowledged after this long counts as lost. */
  ackTimeoutMs: number;
  /** Largest window, in chunks of the latest size sent. */
  maxChunks: number;
}

interface InFlight {
  chunkId: number;
  bytes: number;
  sentAt: number;
  /** Bytes acknowledged in all when it was sent. */
  ackedAtSend: number;
  /** Other chunks were in flight when it was sent. */
  busy: boolean;
}

/** What the window needs of a partner's latest buffer map. */
export interface AckMap {
  baseId: number;
  has(id: number): boolean;
}

/** Length of one base-delay period (the smallest delay is kept per period). */
const BASE_PERIOD_MS = 10_000;
/** Periods the base delay looks back on. */
const BASE_PERIODS = 3;
/** Window before the first acknowledgement, in chunks. */
const INITIAL_CHUNKS = 2;
/** Smallest window, in chunks. */
const MIN_CHUNKS = 1;

export class SendWindow {
  private readonly inflight = new Map<string, InFlight[]>();
  private bytesInFlight = 0;
  private windowBytes = 0;
  private chunkBytes = 0;
  private srttMs = 0;
  private ackedBytes = 0;
  private rate = 0;
  private readonly baseMins: Array<{ period: number; min: number }> = [];
  /** The window was full while requests waited (growth is earned only then). */
  private limited = false;
  private lastCutAt = -Infinity;
  private slowStart = true;
  acks = 0;
  losses = 0;

  constructor(private readonly opts: SendWindowOptions) {}

  get inFlightBytes(): number {
    return this.bytesInFlight;
  }

  get window(): number {
    return this.windowBytes;
  }

  /** Smallest recent delay (ms); 0 before the first acknowledgement. */
  get baseDelayMs(): number {
    let m = Infinity;
    for (const b of this.baseMins) m = Math.min(m, b.min);
    return Number.isFinite(m) ? m : 0;
  }

  get smoothedDelayMs(): number {
    return this.srttMs;
  }

  /** Measured delivery rate (bits/s); 0 until measured. */
  get rateBps(): number {
    return this.rate;
  }

  /** Whether another chunk may leave now: the bytes in flight are under the window (always when none are). */
  open(): boolean {
    return this.bytesInFlight === 0 || this.windowBytes === 0 || this.bytesInFlight < this.windowBytes;
  }

  /** Requests wait because the window is full. */
  markLimited(): void {
    this.limited = true;
  }

  onSent(peerId: string, chunkId: number, bytes: number, now: number): void {
    if (bytes <= 0) return;
    this.chunkBytes = this.chunkBytes === 0 ? bytes : this.chunkBytes + (bytes - this.chunkBytes) / 8;
    if (this.windowBytes === 0) this.windowBytes = INITIAL_CHUNKS * bytes;
    let list = this.inflight.get(peerId);
    if (!list) this.inflight.set(peerId, (list = []));
    list.push({ chunkId, bytes, sentAt: now, ackedAtSend: this.ackedBytes, busy: this.bytesInFlight > 0 });
    this.bytesInFlight += bytes;
  }

  /** The partner's map received at `receivedAt`: acknowledges what it shows of our in-flight chunks. */
  onMap(peerId: string, map: AckMap, receivedAt: number): void {
    const list = this.inflight.get(peerId);
    if (!list || list.length === 0) return;
    const keep: InFlight[] = [];
    for (const f of list) {
      if (receivedAt > f.sentAt && (f.chunkId < map.baseId || map.has(f.chunkId))) this.ack(f, receivedAt);
      else keep.push(f);
    }
    this.inflight.set(peerId, keep);
  }

  /** Chunks never acknowledged within ackTimeoutMs are lost: the window halves (once per delay). */
  expire(now: number): void {
    for (const [peerId, list] of this.inflight) {
      const keep = list.filter((f) => now - f.sentAt < this.opts.ackTimeoutMs);
      if (keep.length === list.length) continue;
      for (const f of list) if (now - f.sentAt >= this.opts.ackTimeoutMs) this.bytesInFlight -= f.bytes;
      this.losses += list.length - keep.length;
      this.inflight.set(peerId, keep);
      this.cut(now, 0.5);
    }
  }

  /** The partnership ended: its chunks no longer count as in flight. */
  dropPeer(peerId: string): void {
    for (const f of this.inflight.get(peerId) ?? []) this.bytesInFlight -= f.bytes;
    this.inflight.delete(peerId);
  }

  private ack(f: InFlight, now: number): void {
    this.bytesInFlight -= f.bytes;
    this.ackedBytes += f.bytes;
    this.acks++;
    const delay = Math.max(1, now - f.sentAt);
    // A map may show a chunk that reached the receiver from another partner first (an early,
    // ambiguous acknowledgement): one sample moves the average by at most an eighth of 2x.
    const raw = ((this.ackedBytes - f.ackedAtSend) * 8000) / delay;
    const sample = this.rate > 0 ? Math.min(raw, 2 * this.rate) : raw;
    if (this.rate === 0) this.rate = sample;
    else if (f.busy || sample > this.rate) this.rate += (sample - this.rate) / 8;
    const period = Math.floor(now / BASE_PERIOD_MS);
    const last = this.baseMins[this.baseMins.length - 1];
    if (last?.period === period) last.min = Math.min(last.min, delay);
    else {
      this.baseMins.push({ period, min: delay });
      while (this.baseMins.length > BASE_PERIODS) this.baseMins.shift();
    }
    this.srttMs = this.srttMs === 0 ? delay : this.srttMs + (delay - this.srttMs) / 8;
    const queueing = delay - this.baseDelayMs;
    const target = this.opts.targetMs;
    const offTarget = (target - queueing) / target;
    const chunk = Math.max(1, this.chunkBytes);
    if (queueing >= target / 2) this.slowStart = false;
    if (this.slowStart) {
      if (this.limited) this.windowBytes += f.bytes;
    } else if (offTarget >= 0) {
      // Growth only while the window was what held requests back; about one chunk per window acked.
      if (this.limited) this.windowBytes += (offTarget * f.bytes * chunk) / Math.max(chunk, this.windowBytes);
    } else if (offTarget < -1) {
      this.cut(now, 0.75);
    } else {
      this.windowBytes += (offTarget * f.bytes * chunk) / Math.max(chunk, this.windowBytes);
    }
    this.windowBytes = Math.min(this.opts.maxChunks * chunk, Math.max(MIN_CHUNKS * chunk, this.windowBytes));
    if (this.bytesInFlight <= 0) {
      this.bytesInFlight = 0;
      this.limited = false;
    }
  }

  private cut(now: number, factor: number): void {
    this.slowStart = false;
    if (now - this.lastCutAt < Math.max(100, this.srttMs)) return;
    this.lastCutAt = now;
    this.windowBytes = Math.max(MIN_CHUNKS * Math.max(1, this.chunkBytes), this.windowBytes * factor);
  }
}
