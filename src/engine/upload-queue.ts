// Serving side of one content: partners' DataChunkReqs wait here for our uplink, with upload slots so
// one partner cannot drain the node.
//  - Slots: a partner holds at most `slotsPerPartner` requests here (queued, or — unpaced — served
//    less than `unpacedSlotMs` ago); one more is refused at once ('busy-partner').
//  - Paced (uploadBps > 0): chunks leave at uploadBps through a byte credit refilled with time, so the
//    transport's queue stays short (buffer maps and requests are not stuck behind chunk data) and we
//    know how long the queue is. A request that would wait longer than the queue limit — the
//    larger of maxServeQueueMs and MIN_QUEUE_CHUNKS transmission times of its chunk — is refused
//    ('busy-uplink') — unless, newest-first, it displaces the queued request for an older chunk —
//    and a queued request that has waited that long is given up: `refuse` tells its partner,
//    who asks elsewhere at once instead of waiting for its own timeout.
//  - Unpaced (uploadBps = 0): chunks leave at once — or, with a `gate` (a SendWindow), while the
//    chunks in flight (sent, not yet confirmed by the receiver) stay within its window; a request is
//    refused ('busy-uplink') when the queue would take longer than the queue limit at the gate's
//    measured rate, and a queued request that waited that long is given
//    up — so requests wait here, where they can still be refused, not in the kernel's send buffer.
//  - Pushes (a new chunk of a sub-stream a partner subscribed to, docs/live-push.md) need no slot and
//    hold none — the subscription is their admission — and otherwise queue, wait and are given up
//    like requests (the caller drops a push silently: the partner pulls what a parent did not push).
//  - Requests with a deadline (a DataChunkDue: a piece the requester is about to play) are served
//    first, earliest deadline first, and admitted by the wait behind the deadlines served before them;
//    later deadlines a new one pushes beyond the queue limit are refused at once.
//  - Service order among the rest: newestSharePct of the serves take the request for the newest chunk (fresh
//    chunks spread at once: the "latest useful chunk" policy that keeps epidemic diffusion delay
//    low); the others go round-robin over partners, each partner's requests in arrival order, so a
//    partner that is behind (asking for older chunks) is not starved.
// Pure: time comes from the caller; `send` does the sending and reports the bytes (0: nothing sent).

export interface UploadQueueOptions<P = unknown> {
  uploadBps: number;
  maxServeQueueMs: number;
  slotsPerPartner: number;
  unpacedSlotMs: number;
  /** Percentage of serves that take the request for the newest chunk (the rest: round-robin). */
  newestSharePct?: number;
  /**
   * A request arriving at a full queue displaces the queued request for the oldest chunk among
   * those this predicate allows (absent: never displace).
   */
  displaceable?: (req: ServeRequest<P>) => boolean;
  /** Unpaced: what decides when the next chunk may leave (absent: at once). */
  gate?: UplinkGate;
}

/** The sender's view of its uplink (send-window.ts). */
export interface UplinkGate {
  /** Whether another chunk may leave now. */
  open(): boolean;
  /** Requests are waiting because the gate is shut. */
  markLimited(): void;
  /** Measured delivery rate (bits/s); 0 while unknown. */
  readonly rateBps: number;
  /** Bytes sent and not yet confirmed by their receivers. */
  readonly inFlightBytes: number;
}

export interface ServeRequest<P> {
  peer: P;
  peerId: string;
  chunkId: number;
  bytes: number;
  /** A push to a subscriber, not an answer to a request. */
  push?: boolean;
  /** When the requester plays it (a DataChunkDue): served before requests without one, earliest first. */
  dueAt?: number;
}

export type OfferResult = 'queued' | 'busy-partner' | 'busy-uplink';

interface Queued<P> {
  req: ServeRequest<P>;
  at: number;
}

interface PartnerQueue<P> {
  queue: Queued<P>[];
  /** Unpaced: when each served request releases its slot. */
  holds: number[];
}

/** Largest credit kept while idle (a short burst), in ms of uplink time. */
const MAX_IDLE_CREDIT_MS = 100;

/**
 * A paced queue always accepts this many transmission times of work. With an uplink near the
 * stream rate one chunk takes about a chunk's duration to send: a limit shorter than a few of them
 * refuses the next request while one is in service, and the uplink may idle until the refused
 * partner asks again (in the simulator this rule cut refusals by a third; docs/live-sim.md).
 */
const MIN_QUEUE_CHUNKS = 3;

export class UploadQueue<P> {
  private readonly partners = new Map<string, PartnerQueue<P>>();
  private order: string[] = [];
  private turn = 0;
  private queuedBytes = 0;
  private queuedCount = 0;
  /** Of those, requests with a deadline. */
  private dueCount = 0;
  private credit = 0;
  private newestTurns = 0;
  private lastRefill: number | undefined;

  private rateBps: number;

  constructor(private readonly opts: UploadQueueOptions<P>) {
    this.rateBps = opts.uploadBps;
  }

  /** Changes the pace (0: unpaced from now on). */
  setUploadBps(bps: number): void {
    this.rateBps = Math.max(0, bps);
  }

  get paced(): boolean {
    return this.rateBps > 0;
  }

  /** Requests waiting overall. */
  get length(): number {
    return this.queuedCount;
  }

  /** Slots a partner holds now. */
  slotsHeld(peerId: string, now: number): number {
    const q = this.partners.get(peerId);
    if (!q) return 0;
    while (q.holds.length > 0 && (q.holds[0] as number) <= now) q.holds.shift();
    return q.queue.length + q.holds.length;
  }

  /** A request arrived: 'queued', or why it is refused. A displaced request goes to `refuse`. */
  offer(req: ServeRequest<P>, now: number, refuse: (r: ServeRequest<P>) => void): OfferResult {
    const o = this.opts;
    if (!req.push && this.slotsHeld(req.peerId, now) >= o.slotsPerPartner) return 'busy-partner';
    const rate = this.waitRateBps();
    if (rate > 0) {
      let waitMs: number;
      if (this.paced) {
        this.refill(now);
        waitMs = ((this.queuedBytes - Math.max(0, this.credit)) * 8000) / rate;
      } else {
        // What is in flight is not counted: much of it has arrived and waits for its receiver's map,
        // and the window keeps the rest near its target delay.
        waitMs = (this.queuedBytes * 8000) / rate;
      }
      // A request with a deadline waits only behind the deadlines served before it (as early or earlier).
      if (req.dueAt !== undefined) waitMs = (this.dueBytesBy(req.dueAt) * 8000) / rate;
      if (this.queuedCount > 0 && waitMs > this.limitMs(req.bytes, rate)) {
        const displaced = o.displaceable ? this.takeOldest(req.chunkId, o.displaceable) : undefined;
        if (!displaced) return 'busy-uplink';
        refuse(displaced);
      }
    }
    let q = this.partners.get(req.peerId);
    if (!q) {
      q = { queue: [], holds: [] };
      this.partners.set(req.peerId, q);
      this.order.push(req.peerId);
    }
    q.queue.push({ req, at: now });
    this.queuedBytes += req.bytes;
    this.queuedCount++;
    if (req.dueAt !== undefined) {
      this.dueCount++;
      if (rate > 0) this.shedLaterDeadlines(req.dueAt, rate, refuse);
    }
    return 'queued';
  }

  /** Gives up requests that waited too long (to `refuse`), then sends what the uplink allows now. */
  drain(now: number, send: (r: ServeRequest<P>) => number, refuse: (r: ServeRequest<P>) => void): void {
    if (this.queuedCount === 0) return;
    if (this.paced) this.refill(now);
    const rate = this.waitRateBps();
    if (rate > 0) this.expire(now, rate, refuse);
    const gate = this.opts.gate;
    while (!this.paced || this.credit > 0) {
      if (!this.paced && gate && !gate.open()) {
        if (this.queuedCount > 0) gate.markLimited();
        return;
      }
      const next = this.takeNext();
      if (!next) return;
      const [req, q] = next;
      const sent = send(req);
      if (this.paced) this.credit -= sent;
      else if (sent > 0 && !req.push) q.holds.push(now + this.opts.unpacedSlotMs);
    }
  }

  /** The partner no longer wants `chunkId`: its queued request for it is dropped (true) if there is one. */
  cancel(peerId: string, chunkId: number): boolean {
    const q = this.partners.get(peerId);
    const i = q ? q.queue.findIndex((e) => e.req.chunkId === chunkId && !e.req.push) : -1;
    if (!q || i < 0) return false;
    const [e] = q.queue.splice(i, 1);
    this.unqueue((e as Queued<P>).req);
    return true;
  }

  /** The partnership ended: its queued requests are dropped. */
  dropPeer(peerId: string): void {
    const q = this.partners.get(peerId);
    if (!q) return;
    for (const e of q.queue) this.unqueue(e.req);
    this.partners.delete(peerId);
    this.order = this.order.filter((id) => id !== peerId);
  }

  /** The next request to serve: earliest deadline, newest chunk, or round-robin (see the service order above). */
  private takeNext(): [ServeRequest<P>, PartnerQueue<P>] | undefined {
    if (this.dueCount > 0) return this.takeEarliestDue();
    this.newestTurns += this.opts.newestSharePct ?? 0;
    const newest = this.newestTurns >= 100;
    if (newest) this.newestTurns -= 100;
    const n = this.order.length;
    let best: PartnerQueue<P> | undefined;
    let bestIdx = -1;
    let bestPos = 0;
    for (let k = 0; k < n; k++) {
      const idx = (this.turn + k) % n;
      const q = this.partners.get(this.order[idx] as string) as PartnerQueue<P>;
      if (q.queue.length === 0) continue;
      if (!newest) {
        best = q;
        bestIdx = idx;
        break;
      }
      for (let i = 0; i < q.queue.length; i++) {
        if (!best || (q.queue[i] as Queued<P>).req.chunkId > (best.queue[bestPos] as Queued<P>).req.chunkId) {
          best = q;
          bestIdx = idx;
          bestPos = i;
        }
      }
    }
    if (!best) return undefined;
    this.turn = bestIdx + 1;
    const [e] = best.queue.splice(bestPos, 1);
    const req = (e as Queued<P>).req;
    this.unqueue(req);
    return [req, best];
  }

  /** Bytes of the queued requests with a deadline no later than `dueAt` (served before a request due then). */
  private dueBytesBy(dueAt: number): number {
    if (this.dueCount === 0) return 0;
    let bytes = 0;
    for (const q of this.partners.values()) for (const e of q.queue) if (e.req.dueAt !== undefined && e.req.dueAt <= dueAt) bytes += e.req.bytes;
    return bytes;
  }

  /**
   * A request due at `dueAt` went ahead of the deadlines after it: those it pushed beyond the queue
   * limit are refused now (to `refuse`), so their requesters ask elsewhere at once rather than
   * after waiting the limit out here.
   */
  private shedLaterDeadlines(dueAt: number, rate: number, refuse: (r: ServeRequest<P>) => void): void {
    const due: Array<[PartnerQueue<P>, Queued<P>]> = [];
    for (const q of this.partners.values()) for (const e of q.queue) if (e.req.dueAt !== undefined) due.push([q, e]);
    due.sort((a, b) => (a[1].req.dueAt as number) - (b[1].req.dueAt as number));
    let bytes = 0;
    for (const [q, e] of due) {
      const waitMs = (bytes * 8000) / rate;
      if ((e.req.dueAt as number) <= dueAt || waitMs <= this.limitMs(e.req.bytes, rate)) {
        bytes += e.req.bytes;
        continue;
      }
      q.queue.splice(q.queue.indexOf(e), 1);
      this.unqueue(e.req);
      refuse(e.req);
    }
  }

  /** Removes and returns the queued request with the earliest deadline (there is one). */
  private takeEarliestDue(): [ServeRequest<P>, PartnerQueue<P>] | undefined {
    let best: PartnerQueue<P> | undefined;
    let pos = 0;
    let bestDue = Infinity;
    for (const q of this.partners.values()) {
      for (let i = 0; i < q.queue.length; i++) {
        const due = (q.queue[i] as Queued<P>).req.dueAt;
        if (due !== undefined && due < bestDue) {
          best = q;
          pos = i;
          bestDue = due;
        }
      }
    }
    if (!best) return undefined;
    const [e] = best.queue.splice(pos, 1);
    const req = (e as Queued<P>).req;
    this.unqueue(req);
    return [req, best];
  }

  /** Removes and returns the displaceable queued request for the oldest chunk, if older than `chunkId`. */
  private takeOldest(chunkId: number, displaceable: (req: ServeRequest<P>) => boolean): ServeRequest<P> | undefined {
    let best: PartnerQueue<P> | undefined;
    let pos = 0;
    for (const q of this.partners.values()) {
      for (let i = 0; i < q.queue.length; i++) {
        const r = (q.queue[i] as Queued<P>).req;
        if (!displaceable(r)) continue;
        if (!best || r.chunkId < (best.queue[pos] as Queued<P>).req.chunkId) {
          best = q;
          pos = i;
        }
      }
    }
    if (!best || (best.queue[pos] as Queued<P>).req.chunkId >= chunkId) return undefined;
    const [e] = best.queue.splice(pos, 1);
    const req = (e as Queued<P>).req;
    this.unqueue(req);
    return req;
  }

  /** The rate waits are measured at: the pace, or the gate's measured rate (0: waits unknown). */
  private waitRateBps(): number {
    if (this.paced) return this.rateBps;
    return this.opts.gate?.rateBps ?? 0;
  }

  /** Longest wait (ms) a request for a chunk of `bytes` may face at `rate`. */
  private limitMs(bytes: number, rate: number): number {
    return Math.max(this.opts.maxServeQueueMs, (MIN_QUEUE_CHUNKS * bytes * 8000) / rate);
  }

  private expire(now: number, rate: number, refuse: (r: ServeRequest<P>) => void): void {
    // Each partner's queue is in arrival order: the expired requests are a prefix.
    for (const q of this.partners.values()) {
      while (q.queue.length > 0 && (q.queue[0] as Queued<P>).at <= now - this.limitMs((q.queue[0] as Queued<P>).req.bytes, rate)) {
        const req = (q.queue.shift() as Queued<P>).req;
        this.unqueue(req);
        refuse(req);
      }
    }
  }

  private unqueue(req: ServeRequest<P>): void {
    this.queuedBytes -= req.bytes;
    this.queuedCount--;
    if (this.queuedCount === 0) this.queuedBytes = 0;
    if (req.dueAt !== undefined) this.dueCount--;
  }

  private refill(now: number): void {
    const bytesPerMs = this.rateBps / 8000;
    // Idle uplink time is not banked beyond a short burst.
    const cap = MAX_IDLE_CREDIT_MS * bytesPerMs;
    if (this.lastRefill === undefined) this.credit = cap;
    else if (now > this.lastRefill) this.credit += (now - this.lastRefill) * bytesPerMs;
    this.lastRefill = now;
    if (this.credit > cap) this.credit = cap;
  }
}
