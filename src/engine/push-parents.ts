// The receiving side of pushed sub-streams (docs/live-push.md). A live content is cut into `count`
// sub-streams (chunk i is on sub-stream i mod count). For each, a viewer subscribes to one partner,
// its parent there, which then sends each new chunk of that sub-stream as soon as it has it, without a
// request; pulling stays the repair path for whatever a parent does not deliver. Here: which partner
// feeds each sub-stream, chosen and re-chosen from what we measure:
//   - candidates are partners not refusing it lately, not behind us (their newest chunk within
//     `lagChunks` of the newest we hold) and allowed by the view (a main node sharing its uplink takes
//     only its own share over the uplink);
//   - nearer the source first (the hops parents report in their answers; unknown counts as
//     UNKNOWN_HOPS), then fewer sub-streams already from that partner (spread), then smaller
//     measured response delay, then random — so a tree grows shallow, from partners with spare
//     upload (a full or starved partner refuses, see push-children.ts);
//   - re-chosen when the parent refuses, does not answer within ASK_TIMEOUT_MS, leaves, falls behind,
//     or when `missLimit` chunks of the sub-stream in a row came by pull first (a link that drops its
//     pushes, or a loop: no chunk enters it);
// Subscriptions are renewed every lease / 3; the answers refresh the parents' hops. Our own hops on a
// sub-stream are our parent's + 1 (255: not fed), which is what we tell our own children.
// Pure: time is passed in; messages leave through the `send` callback of tick().
import type { RemoteBufferMap } from './buffer-map.js';
import type { Random } from './ports.js';

/** Hops meaning "not fed" on the wire. */
export const NOT_FED = 255;
/** Hops assumed for a partner that has not answered us yet. */
const UNKNOWN_HOPS = 8;
/** A subscription not answered this long counts as refused. */
const ASK_TIMEOUT_MS = 2000;
/** Partners whose refusals and former pushes are remembered (a box has at most a few dozen). */
const MAX_REMEMBERED = 256;

export interface PushParentsOptions {
  count: number;
  leaseMs: number;
  /** After a refusal (or a switch away), the partner is not asked for that sub-stream for this long. */
  retryMs: number;
  /** A parent whose newest chunk is this many chunks behind the newest we hold is left. */
  lagChunks: number;
  /** Chunks in a row of a sub-stream that came by pull before its parent pushed them: switch. */
  missLimit: number;
  random: Random;
}

/** What tick() looks at: the partners, their maps and measured delays. */
export interface PushView {
  partners: readonly string[];
  maps: RemoteBufferMap;
  /** Smoothed response delay of a partner (ms; smaller is better). */
  delayMs(peerId: string): number;
  /** Our measured upload rate (bits/s, 0 unknown), told to the parents. */
  uploadBps: number;
  /** The newest chunk we hold. */
  ownNewest: number | undefined;
  /** Whether a partner may feed sub-stream s (absent: any may). */
  mayFeed?(peerId: string, s: number): boolean;
}

interface Feed {
  parent: string;
  active: boolean;
  askedAt: number;
  /** The parent's hops on this sub-stream (NOT_FED until it answers). */
  hops: number;
  since: number;
  misses: number;
}

export class PushParents {
  private readonly feeds: (Feed | undefined)[];
  /** Per sub-stream: our hops when last fed, and until when they still stand (a switch keeps our children). */
  private readonly lastHops: number[];
  private readonly lastHopsUntil: number[];
  private now = 0;
  private readonly hopsBy = new Map<string, Uint8Array>();
  /** Partner → per sub-stream, until when it is not asked again (it refused, or never answered). */
  private readonly refusedUntil = new Map<string, Float64Array>();
  /** Partner → per sub-stream, until when a former parent's pushes are still taken (in flight when we left it). */
  private readonly formerUntil = new Map<string, Float64Array>();
  /** Per sub-stream: every partner of `idlePartners` refused it until then (no choice to make before). */
  private readonly idleUntil: Float64Array;
  private readonly idlePartners: (readonly string[] | undefined)[];
  /** Mask last sent to each partner and when. */
  private readonly sent = new Map<string, { mask: number; at: number }>();
  /** Parents left (re-chosen) since the start. */
  switches = 0;

  constructor(private readonly opts: PushParentsOptions) {
    this.feeds = new Array<Feed | undefined>(opts.count).fill(undefined);
    this.lastHops = new Array<number>(opts.count).fill(NOT_FED);
    this.lastHopsUntil = new Array<number>(opts.count).fill(-Infinity);
    this.idleUntil = new Float64Array(opts.count).fill(-Infinity);
    this.idlePartners = new Array<readonly string[] | undefined>(opts.count).fill(undefined);
  }

  get count(): number {
    return this.opts.count;
  }

  /** Sub-streams with an accepted parent. */
  get fed(): number {
    return this.feeds.filter((f) => f?.active).length;
  }

  /** Whether `peerId` may push chunk `id` to us (it accepted to be, or lately was, that sub-stream's parent; its answer comes before its pushes). */
  expectsPush(peerId: string, id: number, now: number): boolean {
    const s = id % this.opts.count;
    const f = this.feeds[s];
    return (f?.active === true && f.parent === peerId) || (this.formerUntil.get(peerId)?.[s] ?? -Infinity) > now;
  }

  /** Whether chunk `id` is expected by push (its sub-stream has an accepted parent). */
  awaits(id: number): boolean {
    return this.feeds[id % this.opts.count]?.active === true;
  }

  /** Our hops from the source on sub-stream s (NOT_FED when no accepted parent feeds it). */
  ownHops(s: number): number {
    const f = this.feeds[s];
    if (f?.active && f.hops < NOT_FED - 1) return f.hops + 1;
    // Between two parents (one left, the next not yet accepted) we still count as fed for a lease:
    // our own children stay, and get the chunks again once the new parent feeds us.
    return (this.lastHopsUntil[s] as number) > this.now ? (this.lastHops[s] as number) : NOT_FED;
  }

  /** The partner feeding sub-stream s (accepted), if any. */
  parentOf(s: number): string | undefined {
    const f = this.feeds[s];
    return f?.active ? f.parent : undefined;
  }

  onAck(peerId: string, mask: number, hops: Uint8Array, now: number): void {
    this.hopsBy.set(peerId, hops);
    // What it refused it does not hold: no need to tell it we no longer want it.
    const last = this.sent.get(peerId);
    if (last) last.mask &= mask;
    for (let s = 0; s < this.opts.count; s++) {
      const f = this.feeds[s];
      if (f?.parent !== peerId) continue;
      if ((mask >>> s) & 1) {
        f.active = true;
        f.hops = hops[s] ?? NOT_FED;
        if (f.hops < NOT_FED - 1) {
          this.lastHops[s] = f.hops + 1;
          this.lastHopsUntil[s] = now + this.opts.leaseMs;
        }
      } else {
        this.leave(s, now, true);
      }
    }
  }

  /** A chunk was stored: pushed by `pushedBy`, or (undefined) pulled. */
  onStored(id: number, pushedBy: string | undefined, now: number): void {
    const s = id % this.opts.count;
    const f = this.feeds[s];
    if (pushedBy !== undefined) {
      if (f?.parent === pushedBy) f.misses = 0;
      return;
    }
    if (!f?.active || now - f.since < this.opts.leaseMs) return;
    if (++f.misses >= this.opts.missLimit) this.leave(s, now, true);
  }

  onPartnerRemoved(peerId: string, now: number): void {
    this.hopsBy.delete(peerId);
    this.sent.delete(peerId);
    for (let s = 0; s < this.opts.count; s++) if (this.feeds[s]?.parent === peerId) this.leave(s, now, false);
  }

  /** Re-chooses parents where needed and sends new or due subscriptions (`mask` 0: none any more). */
  tick(now: number, view: PushView, send: (peerId: string, mask: number) => void): void {
    const { count } = this.opts;
    this.now = now;
    const newest = view.ownNewest;
    for (let s = 0; s < count; s++) {
      const f = this.feeds[s];
      if (!f) continue;
      if (!view.partners.includes(f.parent) || view.mayFeed?.(f.parent, s) === false) this.leave(s, now, false);
      else if (!f.active && now - f.askedAt > ASK_TIMEOUT_MS) this.leave(s, now, true);
      else if (f.active && newest !== undefined && this.behind(view, f.parent, newest)) this.leave(s, now, true);
    }
    for (let s = 0; s < count; s++) {
      if (this.feeds[s]) continue;
      const parent = this.choose(s, now, view, newest);
      if (parent !== undefined) this.feeds[s] = { parent, active: false, askedAt: now, hops: NOT_FED, since: now, misses: 0 };
    }
    const masks = new Map<string, number>();
    for (let s = 0; s < count; s++) {
      const f = this.feeds[s];
      if (f) masks.set(f.parent, (masks.get(f.parent) ?? 0) | (1 << s));
    }
    const renewMs = this.opts.leaseMs / 3;
    for (const [peerId, last] of this.sent) {
      if (!masks.has(peerId) && last.mask !== 0) {
        send(peerId, 0);
        this.sent.set(peerId, { mask: 0, at: now });
      }
    }
    for (const [peerId, mask] of masks) {
      const last = this.sent.get(peerId);
      if (last && last.mask === mask && now - last.at < renewMs) continue;
      send(peerId, mask >>> 0);
      this.sent.set(peerId, { mask, at: now });
    }
  }

  private behind(view: PushView, peerId: string, newest: number): boolean {
    const theirs = view.maps.get(peerId)?.newest;
    return theirs !== undefined && theirs < newest - this.opts.lagChunks;
  }

  private choose(s: number, now: number, view: PushView, newest: number | undefined): string | undefined {
    if (this.idlePartners[s] === view.partners && now < (this.idleUntil[s] as number)) return undefined;
    let best: string | undefined;
    let bestKey = Infinity;
    let refusedAll = view.partners.length > 0;
    let firstRetry = Infinity;
    for (const peerId of view.partners) {
      const refused = this.refusedUntil.get(peerId)?.[s] ?? -Infinity;
      if (refused > now) {
        firstRetry = Math.min(firstRetry, refused);
        continue;
      }
      refusedAll = false;
      if (view.mayFeed?.(peerId, s) === false) continue;
      const map = view.maps.get(peerId);
      if (map === undefined || map.newest === undefined) continue;
      if (newest !== undefined && this.behind(view, peerId, newest)) continue;
      const reported = this.hopsBy.get(peerId)?.[s];
      // Not fed when it last told us: tried after those of unknown hops (it may be fed by now).
      const hops = reported === undefined ? UNKNOWN_HOPS : reported >= NOT_FED ? UNKNOWN_HOPS + 1 : reported;
      // Hops dominate, then spread over partners, then measured delay (seconds), then a random tie-break.
      const key = hops * 1e6 + this.feedsFrom(peerId) * 1e4 + Math.min(9999, view.delayMs(peerId) / 10) + this.opts.random.next();
      if (key < bestKey) {
        bestKey = key;
        best = peerId;
      }
    }
    // Every partner refused: nothing to choose until the first refusal ends or the partners change.
    if (refusedAll) {
      this.idleUntil[s] = firstRetry;
      this.idlePartners[s] = view.partners;
    }
    return best;
  }

  private leave(s: number, now: number, refuse: boolean): void {
    const f = this.feeds[s];
    if (!f) return;
    this.feeds[s] = undefined;
    if (f.active) this.switches++;
    if (f.active) this.until(this.formerUntil, f.parent)[s] = now + this.opts.leaseMs;
    if (refuse) this.until(this.refusedUntil, f.parent)[s] = now + this.opts.retryMs;
  }

  /** Sub-streams whose (asked or accepted) parent is `peerId`. */
  private feedsFrom(peerId: string): number {
    let n = 0;
    for (const f of this.feeds) if (f?.parent === peerId) n++;
    return n;
  }

  /** The per-sub-stream deadlines of one partner, kept for at most MAX_REMEMBERED partners (the oldest forgotten first). */
  private until(table: Map<string, Float64Array>, peerId: string): Float64Array {
    let t = table.get(peerId);
    if (t) return t;
    if (table.size >= MAX_REMEMBERED) {
      table.delete(table.keys().next().value as string);
      this.idleUntil.fill(-Infinity);
    }
    table.set(peerId, (t = new Float64Array(this.opts.count).fill(-Infinity)));
    return t;
  }
}
