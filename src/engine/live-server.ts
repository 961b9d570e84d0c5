// The serving side of one live content: answers partners' DataChunkReqs from the buffer through the
// upload queue (slots, pacing, newest-first share, displacement), skipping requests whose
// requester's newer map shows it got the chunk elsewhere (implicit cancel). A source always serves
// the newest chunk first (its job is to inject new chunks; older ones are held by its partners too)
// and may also pace its serving at sourceUploadPct of the stream rate. It advertises our buffer
// map: at once to a new partner; to every partner as soon as it changed (at most every
// bufferMapMinGapMs); and at least every bufferMapPeriodMs anyway. A partner that takes deltas
// ('map-delta') is sent what changed since the map it holds (BufferMapDelta), and a whole map every
// bufferMapFullMs, after a map that could not be sent, or when the change is too long for a delta.
// A source filters what each
// partner is shown through its reveal policy, and tells the partners chosen for a new chunk's first
// copies at once, and keeps its serving within a copies budget (source-copies.ts). With
// sendTargetDelayMs > 0 an unpaced upload queue sends through a SendWindow: chunks leave while the
// data not yet confirmed by the receivers' buffer maps stays within a window sized by the queueing
// delay they show, and requests the measured rate could not serve in time are refused ('busy').
// With substreams > 0 it also pushes (docs/live-push.md): partners subscribed to a sub-stream get
// each new chunk of it as soon as we have it, through the same upload queue (ahead of requests, no
// slot needed, dropped silently when the uplink cannot take it in time: the partner pulls it).
import { BufferMap } from './buffer-map.js';
import { chunkBytes, type ChunkRecord } from './chunk-buffer.js';
import { WireLimits, type Message, type SubstreamSub } from '../protocol/messages.js';
import type { LiveCore } from './live-core.js';
import { RejectReason } from './plane/plane-core.js';
import { FEATURE_MAP_DELTA } from './plane/plane-partners.js';
import { advertiseDue, rejectRequest, requestAdmissible, serveRequest } from './plane/serving.js';
import type { LivePartner } from './live-partners.js';
import type { LiveStats } from './live-stats.js';
import type { PeerAddress } from './ports.js';
import { SourceCopies } from './source-copies.js';
import { SourceReveal } from './source-reveal.js';
import type { SendWindow } from './send-window.js';
import { acknowledgeMap, acknowledgeMaps, planeUploads } from './plane/send-gate.js';
import { PushChildren, popcount } from './push-children.js';
import { NOT_FED } from './push-parents.js';
import { UploadQueue, type ServeRequest } from './upload-queue.js';

/** Hops beyond which a sub-stream counts as not fed (a loop counts up to here and breaks). */
const MAX_HOPS = 32;
/** A viewer takes this many children per sub-stream beyond its even share of its push capacity. */
const PER_SUB_SLACK = 2;
/** The upload peak used for push admission decays by this fraction per second. */
const PEAK_DECAY_PER_S = 0.01;

/** What the serving side needs to know of our own place in the push trees. */
export interface PushPlace {
  /** Our hops from the source on sub-stream s (0: the source; NOT_FED: not fed). */
  ownHops(s: number): number;
  /** The partner feeding us sub-stream s, if any. */
  parentOf(s: number): string | undefined;
  /** The stream's rate as we see it (bits/s, 0 unknown). */
  streamBps(): number;
}

export class LiveServer {
  private readonly uploads: UploadQueue<PeerAddress>;
  private readonly reveal: SourceReveal | undefined;
  private readonly copies: SourceCopies | undefined;
  readonly window: SendWindow | undefined;
  private streamBps = 0;
  private ownMsg: { map: BufferMap; msg: Message } | undefined;
  /** Deltas to the map last shown (null: too long for one), by the map the partner held before. */
  private deltas: { shown: BufferMap; byPrev: Map<BufferMap, Message | null> } | undefined;
  private readonly children: PushChildren | undefined;
  private peakUploadBps = 0;
  private peakAt = 0;

  constructor(
    private readonly core: LiveCore,
    private readonly source: boolean,
    private readonly place?: PushPlace,
  ) {
    const c = core.config;
    this.children = c.substreams > 0 ? new PushChildren({ count: c.substreams, leaseMs: c.subscribeLeaseMs }) : undefined;
    ({ window: this.window, uploads: this.uploads } = planeUploads(c, {
      unpacedSlotMs: c.unpacedSlotMs,
      newestSharePct: source ? 100 : c.serveNewestSharePct,
      // Only prefetches at the requester's edge give way (a chunk newer than anything its map
      // shows); a gap behind its edge is likely near its playhead and keeps its place.
      displaceable:
        c.serveDisplaceOlder >= 2
          ? () => true
          : c.serveDisplaceOlder === 1
            ? (r) => {
                const newest = core.maps.get(r.peerId)?.newest;
                return newest !== undefined && r.chunkId > newest;
              }
            : undefined,
    }));
    this.copies =
      source && c.sourceMaxCopiesPct > 0
        ? new SourceCopies({
            maxCopiesPct: c.sourceMaxCopiesPct,
            urgentDueMs: c.chunkMs,
            urgentAgeMs: Math.max(0, c.prebufferMs - c.chunkMs),
            newcomerChunks: Math.max(1, Math.round(c.prebufferMs / c.chunkMs)),
          })
        : undefined;
    this.reveal = source && c.sourceFirstCopies > 0 ? new SourceReveal({ firstCopies: c.sourceFirstCopies, revealMs: c.sourceRevealMs }) : undefined;
  }

  /** A DataChunkReq, or a DataChunkDue (`dueInMs`: the requester plays the chunk then; only a source reads it). */
  onRequest(from: PeerAddress, id: number, dueInMs?: number): void {
    const { core } = this;
    const now = core.clock.now();
    if (!requestAdmissible(core, from, id)) return;
    const chunk = core.buffer.get(id);
    if (!chunk) return this.reject(from, id, RejectReason.Missing);
    if (this.window) acknowledgeMap(core, this.window, from.peerId);
    if (this.copies) {
      const requesterHolds = core.maps.get(from.peerId)?.count ?? 0;
      if (!this.copies.admit({ chunkId: id, peerId: from.peerId, requesterHolds, ...(dueInMs !== undefined ? { dueInMs } : {}) }, now)) {
        core.counters.sourceDeferred++;
        return this.reject(from, id, RejectReason.Busy);
      }
    }
    const offered = this.uploads.offer({ peer: from, peerId: from.peerId, chunkId: id, bytes: chunkBytes(chunk) }, now, this.preempt);
    if (offered !== 'queued') return this.reject(from, id, RejectReason.Busy);
    this.uploads.drain(now, this.serveOne, this.preempt);
  }

  tick(now: number): void {
    if (this.window) acknowledgeMaps(this.core, this.window, now);
    this.children?.expire(now);
    this.trackPeak(now);
    this.uploads.drain(now, this.serveOne, this.preempt);
    this.advertise(now);
  }

  /** Map to every partner that is due one: changed (and past the least gap), or a period old. */
  advertise(now: number): void {
    const own = this.core.buffer.map();
    // The source's reveal decides itself when a new chunk is shown (onPublish).
    const revealing = this.reveal !== undefined;
    advertiseDue(this.core, now, (p) => !revealing && p.mapSent !== own, (p) => this.sendMap(p, now));
  }

  onPartnerAdded(p: LivePartner, now: number): void {
    this.sendMap(p, now);
  }

  onPartnerRemoved(peerId: string): void {
    this.children?.dropPeer(peerId);
    this.uploads.dropPeer(peerId);
    this.window?.dropPeer(peerId);
  }

  /** Viewer: a chunk was stored: pushed to its sub-stream's subscribers, and advertised. */
  onStored(chunk: ChunkRecord, now: number): void {
    this.push(chunk, now);
    this.advertise(now);
  }

  /** A partner subscribes to sub-streams (or renews, or ends with mask 0): answered with what we take. */
  onSubscribe(from: PeerAddress, msg: SubstreamSub): void {
    const { core } = this;
    const k = core.config.substreams;
    const now = core.clock.now();
    const fits = this.children !== undefined && msg.count === k && core.partners.has(from.peerId);
    let accepted = 0;
    if (fits && this.children) {
      const children = this.children;
      const fed = (s: number): boolean => this.hops(s) < MAX_HOPS && this.place?.parentOf(s) !== from.peerId;
      let pairs = children.pairs - popcount(children.childMask(from.peerId));
      const cap = this.capacityPairs();
      // A viewer spreads its pushes over the sub-streams: children of one sub-stream are sent each
      // chunk one after the other (the last waits for all the others), children of different ones at
      // different times.
      const perSub = Math.ceil(cap / k) + PER_SUB_SLACK;
      // A source spreads its sub-streams over its partners (one child holding them all would have to
      // feed everyone else alone).
      const perChild = Math.ceil((k * core.config.sourcePushChildren) / Math.max(1, core.partners.size));
      let mine = 0;
      const keep = (s: number): boolean => {
        if (!fed(s) || (!this.source && pairs >= cap)) return false;
        pairs++;
        mine++;
        return true;
      };
      const admit = (s: number): boolean => {
        if (!fed(s)) return false;
        if (this.source ? children.childrenOf(s).length >= core.config.sourcePushChildren || mine >= perChild : pairs >= cap || children.childrenOf(s).length >= perSub) return false;
        pairs++;
        mine++;
        return true;
      };
      accepted = children.onSub(from.peerId, msg.mask, now, keep, admit);
    }
    const count = Math.max(1, Math.min(32, msg.count));
    const hops = new Uint8Array(count);
    for (let s = 0; s < count; s++) hops[s] = fits ? Math.min(NOT_FED, this.hops(s)) : NOT_FED;
    core.send(from, { type: 'SubstreamAck', peerId: core.selfId, contentId: core.contentId, count, mask: accepted, hops });
  }

  /** Push state for stats. */
  pushStats(): { pushChildren: number } {
    return { pushChildren: this.children?.pairs ?? 0 };
  }

  /** Our measured upload (bits/s; 0 unknown): the recent peak of the send window's delivery rate, or the pace. */
  get uploadBps(): number {
    return this.peakUploadBps > 0 ? Math.round(this.peakUploadBps) : this.core.config.uploadBps;
  }

  private hops(s: number): number {
    if (this.source) return 0;
    return this.place?.ownHops(s) ?? NOT_FED;
  }

  /** (partner, sub-stream) pairs our upload carries: pushUploadPct of it in stream copies (one copy while unknown; none at 0). */
  private capacityPairs(): number {
    const k = this.core.config.substreams;
    if (this.core.config.pushUploadPct === 0) return 0;
    const up = this.uploadBps;
    const stream = this.place?.streamBps() ?? 0;
    if (up <= 0 || stream <= 0) return k;
    return Math.floor((k * up * this.core.config.pushUploadPct) / 100 / stream);
  }

  private trackPeak(now: number): void {
    const rate = this.window && this.window.acks > 0 ? this.window.rateBps : 0;
    const dt = Math.max(0, now - this.peakAt) / 1000;
    this.peakAt = now;
    this.peakUploadBps = Math.max(rate, this.peakUploadBps * Math.max(0, 1 - PEAK_DECAY_PER_S * dt));
  }

  /** Offers a new chunk to its sub-stream's subscribers that do not show it yet. */
  private push(chunk: ChunkRecord, now: number): void {
    const children = this.children;
    if (!children) return;
    const { core } = this;
    const bytes = chunkBytes(chunk);
    let any = false;
    for (const peerId of children.childrenOf(chunk.id % core.config.substreams)) {
      const p = core.partners.get(peerId);
      if (!p || core.maps.get(peerId)?.has(chunk.id)) continue;
      const offered = this.uploads.offer({ peer: p.address, peerId, chunkId: chunk.id, bytes, push: true }, now, this.preempt);
      if (offered === 'queued') any = true;
      else core.counters.pushesDropped++;
    }
    if (any) this.uploads.drain(now, this.serveOne, this.preempt);
  }

  /** Source: a chunk was stored; the partners chosen for its first copies hear of it at once. */
  onPublish(chunk: ChunkRecord, now: number): void {
    if (this.copies) {
      this.copies.forgetBelow(this.core.buffer.base);
      this.copies.onPublish(chunk.id, now);
    }
    this.push(chunk, now);
    this.limitSourceUpload(chunk);
    const partners = this.core.partners;
    if (!this.reveal) {
      for (const p of partners.all()) this.sendMap(p, now);
      return;
    }
    this.reveal.forgetBelow(this.core.buffer.base);
    // A chunk pushed to its sub-stream's children is first shown to them only: they have it (or
    // will at once), and the others ask them rather than us.
    const pushedTo = this.children?.childrenOf(chunk.id % this.core.config.substreams) ?? [];
    const firsts = pushedTo.length > 0 ? pushedTo : partners.ids;
    for (const id of this.reveal.onPublish(chunk.id, now, firsts)) {
      const p = partners.get(id);
      if (p) this.sendMap(p, now);
    }
  }

  /**
   * Source: serving is paced at sourceUploadPct of the stream rate (measured from what it
   * publishes), so the source uploads about one copy plus a margin and the swarm does the rest.
   */
  private limitSourceUpload(chunk: ChunkRecord): void {
    const c = this.core.config;
    if (c.sourceUploadPct <= 0) return;
    const bps = (chunkBytes(chunk) * 8000) / c.chunkMs;
    this.streamBps = this.streamBps === 0 ? bps : this.streamBps + (bps - this.streamBps) / 8;
    const limit = (this.streamBps * c.sourceUploadPct) / 100;
    this.uploads.setUploadBps(c.uploadBps > 0 ? Math.min(c.uploadBps, limit) : limit);
  }

  /** The send window's figures for LiveStats (nulls without a window or before it measured). */
  windowStats(): Pick<LiveStats, 'sendWindowBytes' | 'sendInFlightBytes' | 'sendRateBps' | 'sendDelayMs' | 'sendBaseDelayMs'> {
    const w = this.window;
    const measured = w !== undefined && w.acks > 0;
    return {
      sendWindowBytes: measured ? Math.round(w.window) : null,
      sendInFlightBytes: w ? w.inFlightBytes : null,
      sendRateBps: measured ? Math.round(w.rateBps) : null,
      sendDelayMs: measured ? Math.round(w.smoothedDelayMs) : null,
      sendBaseDelayMs: measured ? w.baseDelayMs : null,
    };
  }

  /** Requests waiting for the uplink. */
  get queued(): number {
    return this.uploads.length;
  }

  private readonly serveOne = (r: ServeRequest<PeerAddress>): number => this.serve(r);
  private readonly preempt = (r: ServeRequest<PeerAddress>): void => {
    if (r.push) this.core.counters.pushesDropped++;
    else this.reject(r.peer, r.chunkId, RejectReason.Preempted);
  };

  private serve(r: ServeRequest<PeerAddress>): number {
    const { core } = this;
    return serveRequest(core, r, (id) => core.buffer.get(id), (sent) => {
      this.window?.onSent(r.peerId, r.chunkId, sent, core.clock.now());
      core.counters.chunksServed++;
      if (r.push) core.counters.chunksPushed++;
      this.copies?.onServed(r.chunkId);
    });
  }

  private reject(to: PeerAddress, chunkId: number, reason: string): void {
    rejectRequest(this.core, to, chunkId, reason);
  }

  private sendMap(p: LivePartner, now: number): void {
    const { core } = this;
    const own = core.buffer.map();
    let shown = own;
    if (this.reveal) {
      const reveal = this.reveal;
      const buffer = core.buffer;
      shown = BufferMap.derive(own.baseId, own.length, (id) => buffer.has(id) && reveal.visible(id, p.peerId, now));
    }
    p.mapSent = own;
    p.mapSentAt = now;
    const delta = this.deltaFor(p, shown, now);
    if (delta) {
      p.mapShown = core.send(p.address, delta) > 0 ? shown : undefined; // not sent: the next map is whole
      return;
    }
    let msg: Message;
    if (shown === own) {
      if (this.ownMsg?.map !== own) this.ownMsg = { map: own, msg: this.mapMessage(own) };
      msg = this.ownMsg.msg;
    } else msg = this.mapMessage(shown);
    p.mapShown = core.send(p.address, msg) > 0 ? shown : undefined;
    p.mapFullAt = now;
  }

  /** What changed since the partner's last map, when it takes deltas, its whole map is recent, and the change fits one. */
  private deltaFor(p: LivePartner, shown: BufferMap, now: number): Message | undefined {
    const fullMs = this.core.config.bufferMapFullMs;
    const prev = p.mapShown;
    if (fullMs <= 0 || !prev || now - p.mapFullAt >= fullMs || !p.features.has(FEATURE_MAP_DELTA)) return undefined;
    // Partners sent the same maps get the same delta: computed once per (previous, new) pair.
    if (this.deltas?.shown !== shown) this.deltas = { shown, byPrev: new Map() };
    let msg = this.deltas.byPrev.get(prev);
    if (msg === undefined) {
      const d = shown.deltaSince(prev);
      msg = d.length > WireLimits.maxMapDeltaBits ? null : { type: 'BufferMapDelta', peerId: this.core.selfId, contentId: this.core.contentId, ...d };
      this.deltas.byPrev.set(prev, msg);
    }
    return msg ?? undefined;
  }

  private mapMessage(map: BufferMap): Message {
    const w = map.toWire();
    return { type: 'BufferMapInfo', peerId: this.core.selfId, contentId: this.core.contentId, baseId: w.baseId, length: w.length, bits: w.bits };
  }
}

