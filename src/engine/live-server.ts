// The serving side of one live content: answers partners' DataChunkReqs from the buffer through the
// upload queue (slots, pacing, newest-first share, displacement), skipping requests whose
// requester's newer map shows it got the chunk elsewhere (implicit cancel). A source always serves
// the newest chunk first (its job is to inject new chunks; older ones are held by its partners too)
// and may also pace its serving at sourceUploadPct of the stream rate. It advertises our buffer
// map: at once to a new partner; to every partner as soon as it changed (at most every
// bufferMapMinGapMs); and at least every bufferMapPeriodMs anyway. A source filters what each
// partner is shown through its reveal policy, and tells the partners chosen for a new chunk's first
// copies at once, and keeps its serving within a copies budget (source-copies.ts). With
// sendTargetDelayMs > 0 an unpaced upload queue sends through a SendWindow: chunks leave while the
// data not yet confirmed by the receivers' buffer maps stays within a window sized by the queueing
// delay they show, and requests the measured rate could not serve in time are refused ('busy').
import { BufferMap } from './buffer-map.js';
import { chunkBytes, type ChunkRecord } from './chunk-buffer.js';
import type { DataChunkReq, Message } from '../protocol/messages.js';
import { RejectReason, type LiveCore } from './live-core.js';
import type { LivePartner } from './live-partners.js';
import type { LiveStats } from './live-stats.js';
import type { PeerAddress } from './ports.js';
import { SourceCopies } from './source-copies.js';
import { SourceReveal } from './source-reveal.js';
import { SendWindow } from './send-window.js';
import { UploadQueue, type ServeRequest } from './upload-queue.js';

/** A served chunk its receiver's maps never show within this long counts as lost (send window). */
const SEND_ACK_TIMEOUT_MS = 10_000;
/** Largest send window, in chunks. */
const SEND_WINDOW_MAX_CHUNKS = 32;

export class LiveServer {
  private readonly uploads: UploadQueue<PeerAddress>;
  private readonly reveal: SourceReveal | undefined;
  private readonly copies: SourceCopies | undefined;
  readonly window: SendWindow | undefined;
  private streamBps = 0;
  private ownMsg: { map: BufferMap; msg: Message } | undefined;

  constructor(
    private readonly core: LiveCore,
    source: boolean,
  ) {
    const c = core.config;
    this.window = c.sendTargetDelayMs > 0 ? new SendWindow({ targetMs: c.sendTargetDelayMs, ackTimeoutMs: SEND_ACK_TIMEOUT_MS, maxChunks: SEND_WINDOW_MAX_CHUNKS }) : undefined;
    this.uploads = new UploadQueue({
      gate: this.window,
      uploadBps: c.uploadBps,
      maxServeQueueMs: c.maxServeQueueMs,
      slotsPerPartner: c.uploadSlotsPerPartner,
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
    });
    this.copies =
      source && c.sourceMaxCopiesPct > 0
        ? new SourceCopies({
            maxCopiesPct: c.sourceMaxCopiesPct,
            urgentAgeMs: Math.max(0, c.prebufferMs - c.chunkMs),
            newcomerChunks: Math.max(1, Math.round(c.prebufferMs / c.chunkMs)),
          })
        : undefined;
    this.reveal = source && c.sourceFirstCopies > 0 ? new SourceReveal({ firstCopies: c.sourceFirstCopies, revealMs: c.sourceRevealMs }) : undefined;
  }

  onRequest(from: PeerAddress, msg: DataChunkReq): void {
    const { core } = this;
    const now = core.clock.now();
    const id = msg.chunkId;
    if (!Number.isSafeInteger(id) || id < 0) return;
    if (!core.partners.has(from.peerId) && !core.engine.isPartner(core.contentId, from.peerId)) {
      return this.reject(from, id, RejectReason.NotPartner);
    }
    const chunk = core.buffer.get(id);
    if (!chunk) return this.reject(from, id, RejectReason.Missing);
    this.acknowledge(from.peerId);
    if (this.copies) {
      const requesterHolds = core.maps.get(from.peerId)?.count ?? 0;
      if (!this.copies.admit({ chunkId: id, peerId: from.peerId, requesterHolds }, now)) {
        core.counters.sourceDeferred++;
        return this.reject(from, id, RejectReason.Busy);
      }
    }
    const offered = this.uploads.offer({ peer: from, peerId: from.peerId, chunkId: id, bytes: chunkBytes(chunk) }, now, this.preempt);
    if (offered !== 'queued') return this.reject(from, id, RejectReason.Busy);
    this.uploads.drain(now, this.serveOne, this.preempt);
  }

  tick(now: number): void {
    if (this.window) {
      for (const peerId of this.core.partners.ids) this.acknowledge(peerId);
      this.window.expire(now);
    }
    this.uploads.drain(now, this.serveOne, this.preempt);
    this.advertise(now);
  }

  /** Map to every partner that is due one: changed (and past the least gap), or a period old. */
  advertise(now: number): void {
    const c = this.core.config;
    const own = this.core.buffer.map();
    for (const p of this.core.partners.all()) {
      const age = now - p.mapSentAt;
      const changed = this.reveal === undefined && p.mapSent !== own;
      if (age >= c.bufferMapPeriodMs || (changed && age >= c.bufferMapMinGapMs)) this.sendMap(p, now);
    }
  }

  onPartnerAdded(p: LivePartner, now: number): void {
    this.sendMap(p, now);
  }

  onPartnerRemoved(peerId: string): void {
    this.uploads.dropPeer(peerId);
    this.window?.dropPeer(peerId);
  }

  /** The partner's latest map confirms the chunks it shows (send window). */
  private acknowledge(peerId: string): void {
    const maps = this.core.maps;
    const map = maps.get(peerId);
    const at = maps.receivedAtMs(peerId);
    if (this.window && map && at !== undefined) this.window.onMap(peerId, map, at);
  }

  /** Source: a chunk was stored; the partners chosen for its first copies hear of it at once. */
  onPublish(chunk: ChunkRecord, now: number): void {
    this.limitSourceUpload(chunk);
    if (this.copies) {
      this.copies.forgetBelow(this.core.buffer.base);
      this.copies.onPublish(chunk.id, now);
    }
    const partners = this.core.partners;
    if (!this.reveal) {
      for (const p of partners.all()) this.sendMap(p, now);
      return;
    }
    this.reveal.forgetBelow(this.core.buffer.base);
    for (const id of this.reveal.onPublish(chunk.id, now, partners.ids)) {
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
  private readonly preempt = (r: ServeRequest<PeerAddress>): void => this.reject(r.peer, r.chunkId, RejectReason.Preempted);

  private serve(r: ServeRequest<PeerAddress>): number {
    const { core } = this;
    // Its latest map says it got the chunk elsewhere meanwhile: nothing to send (implicit cancel).
    if (core.maps.get(r.peerId)?.has(r.chunkId)) {
      core.counters.servesCancelled++;
      return 0;
    }
    const chunk = core.buffer.get(r.chunkId);
    if (!chunk) {
      this.reject(r.peer, r.chunkId, RejectReason.Missing);
      return 0;
    }
    const sent = core.send(r.peer, {
      type: 'DataChunkResp',
      peerId: core.selfId,
      contentId: core.contentId,
      chunkId: chunk.id,
      timestampMs: chunk.timestampMs,
      signature: chunk.signature,
      data: chunk.data,
    });
    if (sent > 0) {
      this.window?.onSent(r.peerId, chunk.id, sent, core.clock.now());
      core.counters.chunksServed++;
      this.copies?.onServed(chunk.id);
      core.partners.exchanged(r.peerId, core.clock.now(), true);
    }
    return sent;
  }

  private reject(to: PeerAddress, chunkId: number, reason: string): void {
    const { core } = this;
    core.counters.requestsRefused++;
    core.send(to, { type: 'DataChunkReject', peerId: core.selfId, contentId: core.contentId, chunkId, reason });
  }

  private sendMap(p: LivePartner, now: number): void {
    const { core } = this;
    const own = core.buffer.map();
    let msg: Message;
    if (this.reveal) {
      const reveal = this.reveal;
      const buffer = core.buffer;
      const shown = BufferMap.derive(own.baseId, own.length, (id) => buffer.has(id) && reveal.visible(id, p.peerId, now));
      msg = this.mapMessage(shown);
    } else {
      if (this.ownMsg?.map !== own) this.ownMsg = { map: own, msg: this.mapMessage(own) };
      msg = this.ownMsg.msg;
    }
    p.mapSent = own;
    p.mapSentAt = now;
    this.core.send(p.address, msg);
  }

  private mapMessage(map: BufferMap): Message {
    const w = map.toWire();
    return { type: 'BufferMapInfo', peerId: this.core.selfId, contentId: this.core.contentId, baseId: w.baseId, length: w.length, bits: w.bits };
  }
}
