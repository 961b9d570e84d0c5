// Our outstanding DataChunkReqs of one content, with timers. Shared by every picker (live now,
// download later): it answers "is this id in flight, to whom, since when", "how much is queued at
// this partner", and remembers which partners must not be asked again for an id (they refused it or
// let a request time out). A request that timed out still counts as solicited, so its late answer is
// accepted (and was not a lie). Pure state; time comes from the caller.

export interface InFlightRequest {
  chunkId: number;
  peerId: string;
  sentAt: number;
  timeoutAt: number;
  /** Bytes we expect (for the per-partner queue estimate). */
  bytes: number;
  /** When we expect the answer (from the partner's estimates when it was sent). */
  expectedAt: number;
  /** A second request for an urgent chunk (another one was already in flight). */
  redundant: boolean;
}

interface PeerRequests {
  active: Map<number, InFlightRequest>;
  bytes: number;
  /** Ids asked of this partner that timed out (late answers are still welcome). */
  expired: Set<number>;
}

export class RequestQueue {
  private readonly byChunk = new Map<number, InFlightRequest[]>();
  private readonly byPeer = new Map<string, PeerRequests>();
  /** Per id, partners not to ask again for it, until when (Infinity: until cleared). */
  private readonly excluded = new Map<number, Map<string, number>>();
  /** Earliest end of a timed exclusion. */
  private nextReleaseAt = Infinity;
  private nextTimeoutAt = Infinity;

  add(req: InFlightRequest): void {
    const list = this.byChunk.get(req.chunkId);
    if (list) list.push(req);
    else this.byChunk.set(req.chunkId, [req]);
    const p = this.peer(req.peerId);
    p.active.set(req.chunkId, req);
    p.bytes += req.bytes;
    if (req.timeoutAt < this.nextTimeoutAt) this.nextTimeoutAt = req.timeoutAt;
  }

  /** Active requests for an id (empty when none). */
  forChunk(chunkId: number): readonly InFlightRequest[] {
    return this.byChunk.get(chunkId) ?? EMPTY;
  }

  isInFlight(chunkId: number): boolean {
    return this.byChunk.has(chunkId);
  }

  inFlightCount(peerId: string): number {
    return this.byPeer.get(peerId)?.active.size ?? 0;
  }

  queuedBytes(peerId: string): number {
    return this.byPeer.get(peerId)?.bytes ?? 0;
  }

  /** Outstanding requests overall. */
  get size(): number {
    let n = 0;
    for (const p of this.byPeer.values()) n += p.active.size;
    return n;
  }

  /** Whether we asked this partner for this id (still active, or timed out). */
  wasRequested(chunkId: number, peerId: string): boolean {
    const p = this.byPeer.get(peerId);
    return p !== undefined && (p.active.has(chunkId) || p.expired.has(chunkId));
  }

  /** Takes an answered request off the queue (undefined when it was not active). */
  take(chunkId: number, peerId: string): InFlightRequest | undefined {
    const p = this.byPeer.get(peerId);
    const req = p?.active.get(chunkId);
    if (!p || !req) return undefined;
    p.expired.delete(chunkId);
    this.detach(req, p);
    return req;
  }

  /** The chunk arrived (from anyone): every request for it is settled. Returns those dropped. */
  settle(chunkId: number): InFlightRequest[] {
    const list = this.byChunk.get(chunkId);
    if (!list) return [];
    const settled = [...list];
    for (const req of settled) {
      const p = this.byPeer.get(req.peerId);
      if (p) {
        this.detach(req, p);
        p.expired.add(chunkId); // its copy may still come: a duplicate, not a lie
      }
    }
    return settled;
  }

  /**
   * Gives a request up without blaming its partner (a seek left the piece behind): its window slot
   * is free again, and a late answer is still welcome.
   */
  cancel(req: InFlightRequest): void {
    const p = this.byPeer.get(req.peerId);
    if (!p || p.active.get(req.chunkId) !== req) return;
    this.detach(req, p);
    p.expired.add(req.chunkId);
  }

  /** Never ask this partner for this id again (it refused, or timed out) — or not before `until`. */
  exclude(chunkId: number, peerId: string, until = Infinity): void {
    let s = this.excluded.get(chunkId);
    if (!s) this.excluded.set(chunkId, (s = new Map()));
    s.set(peerId, Math.max(until, s.get(peerId) ?? -Infinity));
    if (until < this.nextReleaseAt) this.nextReleaseAt = until;
  }

  /** Ends the timed exclusions that are over at `now`. */
  releaseExclusions(now: number): void {
    if (now < this.nextReleaseAt) return;
    let next = Infinity;
    for (const [id, s] of this.excluded) {
      for (const [peerId, until] of s) {
        if (until <= now) s.delete(peerId);
        else if (until < next) next = until;
      }
      if (s.size === 0) this.excluded.delete(id);
    }
    this.nextReleaseAt = next;
  }

  isExcluded(chunkId: number, peerId: string): boolean {
    return this.excluded.get(chunkId)?.has(peerId) ?? false;
  }

  /**
   * Forgets exclusions: of one id, or of every id. Downloads need this (a piece has no deadline,
   * and a partner that refused or timed out once may be its only supplier).
   */
  clearExcluded(chunkId?: number): void {
    if (chunkId === undefined) this.excluded.clear();
    else this.excluded.delete(chunkId);
  }

  /** Requests past their timeout, taken off the queue (their partners are excluded for the id). */
  expire(now: number): InFlightRequest[] {
    if (now < this.nextTimeoutAt) return [];
    const out: InFlightRequest[] = [];
    let next = Infinity;
    for (const p of this.byPeer.values()) {
      for (const req of p.active.values()) {
        if (req.timeoutAt <= now) out.push(req);
        else if (req.timeoutAt < next) next = req.timeoutAt;
      }
    }
    for (const req of out) {
      const p = this.byPeer.get(req.peerId) as PeerRequests;
      this.detach(req, p);
      p.expired.add(req.chunkId);
      this.exclude(req.chunkId, req.peerId);
    }
    this.nextTimeoutAt = next;
    return out;
  }

  /** The partnership ended: its requests are dropped (not timeouts); returns them. */
  dropPeer(peerId: string): InFlightRequest[] {
    const p = this.byPeer.get(peerId);
    if (!p) return [];
    const out = [...p.active.values()];
    for (const req of out) this.detach(req, p);
    this.byPeer.delete(peerId);
    for (const s of this.excluded.values()) s.delete(peerId);
    return out;
  }

  /** Forgets everything about ids below `chunkId` (they left the window). */
  forgetBelow(chunkId: number): void {
    for (const id of this.byChunk.keys()) {
      if (id < chunkId) for (const req of [...(this.byChunk.get(id) ?? [])]) this.detach(req, this.peer(req.peerId));
    }
    for (const id of this.excluded.keys()) if (id < chunkId) this.excluded.delete(id);
    for (const p of this.byPeer.values()) for (const id of p.expired) if (id < chunkId) p.expired.delete(id);
  }

  private peer(peerId: string): PeerRequests {
    let p = this.byPeer.get(peerId);
    if (!p) this.byPeer.set(peerId, (p = { active: new Map(), bytes: 0, expired: new Set() }));
    return p;
  }

  private detach(req: InFlightRequest, p: PeerRequests): void {
    if (p.active.get(req.chunkId) === req) {
      p.active.delete(req.chunkId);
      p.bytes -= req.bytes;
      if (p.active.size === 0) p.bytes = 0;
    }
    const list = this.byChunk.get(req.chunkId);
    if (!list) return;
    const i = list.indexOf(req);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byChunk.delete(req.chunkId);
  }
}

const EMPTY: readonly InFlightRequest[] = Object.freeze([]);
