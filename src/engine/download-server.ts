// The serving side of one download content: answers partners' DataChunkReqs from the store through
// the upload queue (slots per partner, optional pacing, round-robin over partners; unpaced, through
// the send window with download.sendTargetDelayMs, plane/send-gate.ts), answers
// ManifestReqs from anyone, and advertises which pieces we hold as a BufferMapInfo over the whole
// file (base 0, one bit per piece): at once to a new partner, to every partner as soon as it changed
// (at most every bufferMapMinGapMs), and at least every bufferMapPeriodMs. A request with a deadline
// repeatDueMs or more away, for a piece we sent another partner less than repeatRefuseMs ago, is
// refused 'relayed' (sentElsewhere): that partner shares it, and pieces only we hold go out once.
// A request with a deadline for a piece only we hold among our partners (onlyHere: no other
// partner's map shows it, and we have not just sent it) is served as if due freshLeadMs sooner:
// the swarm can get it from nobody else, a copy of any other piece can come from its other
// holders (a flash crowd's seed spent half its uplink on copies while the viewers, all at the
// newest piece it had sent, stalled together).
import type { Message } from '../protocol/messages.js';
import { pieceLength } from '../protocol/manifest.js';
import { BufferMap } from './buffer-map.js';
import type { DownloadCore } from './download-core.js';
import { RejectReason } from './plane/plane-core.js';
import { advertiseDue, rejectRequest, requestAdmissible, serveRequest } from './plane/serving.js';
import type { LivePartner } from './live-partners.js';
import type { PeerAddress } from './ports.js';
import { acknowledgeMaps, planeUploads } from './plane/send-gate.js';
import type { SendWindow } from './send-window.js';
import { UploadQueue, type ServeRequest } from './upload-queue.js';

export class DownloadServer {
  private readonly uploads: UploadQueue<PeerAddress>;
  private readonly window: SendWindow | undefined;
  /** Our bitfield (one bit per piece, MSB first) and a version bumped on every change. */
  private bits: Uint8Array = new Uint8Array(0);
  private version = 0;
  private own: { version: number; map: BufferMap; msg: Message } | undefined;
  /** Per piece, the partner we last sent it to and when (kept repeatRefuseMs). */
  private readonly lastSent = new Map<number, { peerId: string; at: number }>();

  constructor(private readonly core: DownloadCore) {
    ({ window: this.window, uploads: this.uploads } = planeUploads(core.config, { unpacedSlotMs: 0, newestSharePct: 0 }));
  }

  /** The manifest and store are known: our map starts from what the store holds. */
  start(now: number): void {
    const { manifest, store } = this.core;
    if (!manifest || !store) return;
    this.bits = new Uint8Array(Math.ceil(manifest.pieceCount / 8));
    for (let i = 0; i < manifest.pieceCount; i++) if (store.has(i)) this.bits[i >> 3] = (this.bits[i >> 3] as number) | (0x80 >> (i & 7));
    this.version++;
    for (const p of this.core.partners.all()) this.sendMap(p, now);
  }

  /** A piece was stored: our map changed (partners hear of it on the next advertise). */
  have(index: number): void {
    this.bits[index >> 3] = (this.bits[index >> 3] as number) | (0x80 >> (index & 7));
    this.version++;
  }

  /** A DataChunkReq, or a DataChunkDue (`dueInMs`: the requester plays the piece then; served first). */
  onRequest(from: PeerAddress, id: number, dueInMs?: number): void {
    const { core } = this;
    const now = core.clock.now();
    if (!requestAdmissible(core, from, id)) return;
    const m = core.manifest;
    if (!m || !core.store?.has(id)) return this.reject(from, id, RejectReason.Missing);
    const lead = dueInMs !== undefined && core.config.freshLeadMs > 0 && this.onlyHere(from.peerId, id, now) ? core.config.freshLeadMs : 0;
    const req = { peer: from, peerId: from.peerId, chunkId: id, bytes: pieceLength(m, id), ...(dueInMs !== undefined ? { dueAt: now + dueInMs - lead } : {}) };
    if (dueInMs !== undefined) core.counters.dueRequestsIn++;
    if (dueInMs !== undefined && dueInMs >= core.config.repeatDueMs && this.sentElsewhere(from.peerId, id, now)) {
      core.counters.relayedRefusals++;
      return this.reject(from, id, RejectReason.Relayed);
    }
    const offered = this.uploads.offer(req, now, this.refuse);
    if (offered !== 'queued') return this.reject(from, id, RejectReason.Busy);
    this.uploads.drain(now, this.serveOne, this.refuse);
  }

  /** A partner no longer wants a piece (DataChunkCancel): its request is dropped if it still waits here. */
  onCancel(from: PeerAddress, id: number): void {
    if (this.uploads.cancel(from.peerId, id)) this.core.counters.servesCancelled++;
  }

  /** Anyone may ask for the manifest; an empty answer means we do not hold it. */
  onManifestReq(from: PeerAddress): void {
    const { core } = this;
    core.send(from, { type: 'ManifestResp', peerId: core.selfId, contentId: core.contentId, manifest: core.manifestBytes ?? new Uint8Array(0) });
  }

  tick(now: number): void {
    for (const [id, s] of this.lastSent) if (now - s.at >= this.core.config.repeatRefuseMs) this.lastSent.delete(id);
    if (this.window) acknowledgeMaps(this.core, this.window, now);
    this.uploads.drain(now, this.serveOne, this.refuse);
    this.advertise(now);
  }

  /** Map to every partner that is due one: changed (and past the least gap), or a period old. */
  advertise(now: number): void {
    if (!this.core.manifest) return;
    const own = this.ownMap().map;
    advertiseDue(this.core, now, (p) => p.mapSent !== own, (p) => this.sendMap(p, now));
  }

  onPartnerAdded(p: LivePartner, now: number): void {
    if (this.core.manifest) this.sendMap(p, now);
  }

  onPartnerRemoved(peerId: string): void {
    this.uploads.dropPeer(peerId);
    this.window?.dropPeer(peerId);
  }

  private readonly serveOne = (r: ServeRequest<PeerAddress>): number => this.serve(r);
  private readonly refuse = (r: ServeRequest<PeerAddress>): void => this.reject(r.peer, r.chunkId, RejectReason.Busy);

  private serve(r: ServeRequest<PeerAddress>): number {
    const { core } = this;
    const read = (id: number) => {
      const data = core.store?.read(id);
      return data ? { timestampMs: 0, signature: EMPTY, data } : undefined;
    };
    return serveRequest(core, r, read, (sent) => {
      this.window?.onSent(r.peerId, r.chunkId, sent, core.clock.now());
      core.counters.piecesServed++;
      if (core.config.repeatRefuseMs > 0) this.lastSent.set(r.chunkId, { peerId: r.peerId, at: core.clock.now() });
      core.counters.servedPeers.add(r.peerId);
    });
  }

  /**
   * We sent piece `id` to another partner less than repeatRefuseMs ago: that partner will have it to
   * share. Refusing a requester that plays it later ('relayed') sends the pieces only we hold to one
   * viewer each instead of the same one to viewer after viewer (a flash crowd's seed sent each piece
   * twice while the viewers' uplinks idled), and the requester takes it from whoever got it.
   */
  private sentElsewhere(peerId: string, id: number, now: number): boolean {
    const last = this.lastSent.get(id);
    return last !== undefined && last.peerId !== peerId && now - last.at < this.core.config.repeatRefuseMs;
  }

  /** Piece `id` is ours alone among our partners: none but `peerId` shows it, and we have not just sent it (repeatRefuseMs). */
  private onlyHere(peerId: string, id: number, now: number): boolean {
    const last = this.lastSent.get(id);
    if (last !== undefined && now - last.at < this.core.config.repeatRefuseMs) return false;
    for (const other of this.core.partners.ids) if (other !== peerId && this.core.maps.get(other)?.has(id)) return false;
    return true;
  }

  private reject(to: PeerAddress, chunkId: number, reason: string): void {
    rejectRequest(this.core, to, chunkId, reason);
  }

  private ownMap(): { map: BufferMap; msg: Message } {
    if (this.own?.version !== this.version) {
      const length = this.core.manifest?.pieceCount ?? 0;
      const map = BufferMap.fromWire({ baseId: 0, length, bits: this.bits });
      const w = map.toWire();
      const msg: Message = { type: 'BufferMapInfo', peerId: this.core.selfId, contentId: this.core.contentId, baseId: 0, length, bits: w.bits };
      this.own = { version: this.version, map, msg };
    }
    return this.own;
  }

  private sendMap(p: LivePartner, now: number): void {
    const own = this.ownMap();
    p.mapSent = own.map;
    p.mapSentAt = now;
    this.core.send(p.address, own.msg);
  }
}

const EMPTY = new Uint8Array(0);
