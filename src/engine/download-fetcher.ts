// The fetching side of a download: the data scheduler (DownloadPicker over the shared RequestQueue
// and PeerEstimates) and the checks every received piece passes before it is written:
//   solicited (we asked this partner for this piece) → not already held (else a duplicate) → exact
//   length of that piece → hash equal to the manifest's (verifier). A piece failing the last two is a
//   bad piece: rejected, counted, reported, its sender dropped and blocked (blacklistMs).
// Verified pieces go to the store; a StorageError (disk full, I/O) ends the fetching (onFail).
// Requests are re-picked after every answer, so pipelines to fast partners never run dry between ticks.
import type { DataChunkReject, DataChunkResp } from '../protocol/messages.js';
import { pieceLength } from '../protocol/manifest.js';
import type { DownloadCore } from './download-core.js';
import type { OnDemandPicker } from './ondemand-picker.js';
import { StorageError, type DownloadVerifier, type StorageErrorKind } from './download-ports.js';
import { dropBadSender, RejectReason, type DropPeer, safely, verifiedBy } from './plane/plane-core.js';
import { sendRequests } from './plane/request-loop.js';
import { PeerEstimates } from './peer-estimates.js';
import type { PickContext, Picker } from './picker.js';
import type { PeerAddress } from './ports.js';
import { RequestQueue, type InFlightRequest } from './request-queue.js';
import { FEATURE_CANCEL } from './plane/plane-partners.js';

/** A download's picking strategy: a Picker that says whether its last pick was the endgame. */
export type FetchPicker = Picker & { readonly endgame: boolean };

export interface DownloadFetcherDeps {
  core: DownloadCore;
  /** Rarest first; replaced by an OnDemandPicker while the content is played (usePicker). */
  picker: FetchPicker;
  verifier: DownloadVerifier;
  /** Ends a partnership from the data plane (bad piece), blocking the peer for blockMs. */
  dropPeer: DropPeer;
  /** A verified piece was written. */
  onStored: (index: number, now: number) => void;
  /** The store refused a piece: fetching stops. */
  onFail: (kind: StorageErrorKind, message: string) => void;
}

export class DownloadFetcher {
  readonly requests = new RequestQueue();
  readonly estimates: PeerEstimates;
  private stopped = false;
  private nextExclusionReset: number;
  /** Requests given up after a seek ("piece:peer") whose partner may still answer. */
  private readonly cancelled = new Set<string>();

  constructor(private readonly deps: DownloadFetcherDeps) {
    const c = deps.core.config;
    this.estimates = new PeerEstimates({
      initialRttMs: c.initialRttMs,
      initialThroughputBps: c.initialThroughputBps,
      weightPct: c.estimateWeightPct,
      maxWindow: c.maxInFlightPerPartner,
      // No deadlines to protect: start at half the ceiling rather than the live plane's 2.
      initialWindow: Math.max(1, Math.floor(c.maxInFlightPerPartner / 2)),
    });
    this.nextExclusionReset = deps.core.clock.now() + c.requestTimeoutMs;
  }

  get endgame(): boolean {
    return this.deps.picker.endgame;
  }

  /** Switches the picking strategy (a playback position was set or cleared) and re-picks at once. */
  usePicker(picker: FetchPicker, now: number): void {
    this.deps.picker = picker;
    this.schedule(now);
  }

  /**
   * The playhead moved (a seek, or playback went on): requests for pieces the window no longer
   * holds are given up, so their partners' slots go to pieces the player needs now; then re-pick.
   */
  playheadMoved(picker: OnDemandPicker, now: number): void {
    const m = this.deps.core.manifest;
    if (m) {
      for (const r of picker.cancellable(this.requests, m.pieceBytes, m.pieceCount)) this.giveUp(r);
    }
    this.schedule(now);
  }

  /** A request no longer needed from its partner (a seek left its piece behind). */
  private giveUp(r: InFlightRequest): void {
    const { core } = this.deps;
    this.requests.cancel(r);
    core.counters.requestsCancelled++;
    // A partner that takes DataChunkCancel drops it if it has not sent it yet: the piece may be
    // asked of it again. Any other one still sends it: it is not asked of it again meanwhile
    // (exclusions are forgotten every requestTimeoutMs), so the piece does not travel twice.
    if (this.sendCancel(r.peerId, r.chunkId)) return;
    this.requests.exclude(r.chunkId, r.peerId);
    this.cancelled.add(`${r.chunkId}:${r.peerId}`);
  }

  /** Tells a partner that takes cancels (Features `cancel`) we no longer want `chunkId`; false for one that does not. */
  private sendCancel(peerId: string, chunkId: number): boolean {
    const { core } = this.deps;
    const p = core.partners.get(peerId);
    if (!p?.features.has(FEATURE_CANCEL)) return false;
    core.send(p.address, { type: 'DataChunkCancel', peerId: core.selfId, contentId: core.contentId, chunkId });
    return true;
  }

  stop(): void {
    this.stopped = true;
  }

  onReject(from: PeerAddress, msg: DataChunkReject): void {
    const { core } = this.deps;
    const req = this.requests.take(msg.chunkId, from.peerId);
    if (!req) {
      // A cancelled request the partner will not serve after all: it may be asked again at once.
      if (this.cancelled.delete(`${msg.chunkId}:${from.peerId}`)) {
        this.requests.clearExcluded(msg.chunkId);
        this.schedule(core.clock.now());
      }
      return;
    }
    core.counters.rejectsReceived++;
    const now = core.clock.now();
    // The partner does not count us as one (see LiveFetcher.onReject): end it here too, to form again.
    if (msg.reason === RejectReason.NotPartner) return this.deps.dropPeer(from.peerId, 'not-partner', 0);
    const busy = msg.reason === RejectReason.Busy;
    this.estimates.onReject(from.peerId, req.sentAt, now, busy, core.config.busyBackoffMs);
    // 'relayed': another partner got the piece from it a moment ago and will share it.
    if (msg.reason === RejectReason.Relayed) this.requests.exclude(msg.chunkId, from.peerId, now + core.config.relayedHoldMs);
    else if (!busy && msg.reason !== RejectReason.Preempted) this.requests.exclude(msg.chunkId, from.peerId);
    this.schedule(now);
  }

  onResponse(from: PeerAddress, msg: DataChunkResp): void {
    const { core } = this.deps;
    const c = core.counters;
    const id = msg.chunkId;
    const m = core.manifest;
    const store = core.store;
    if (!m || !store || !this.requests.wasRequested(id, from.peerId)) {
      c.unsolicited++;
      return;
    }
    const now = core.clock.now();
    const req = this.requests.take(id, from.peerId);
    if (store.has(id)) {
      c.duplicates++;
      this.schedule(now);
      return;
    }
    const data = msg.data;
    const expected = pieceLength(m, id);
    if (!(data instanceof Uint8Array) || data.byteLength !== expected) {
      return this.bad(from.peerId, id, `length ${data instanceof Uint8Array ? data.byteLength : '?'} instead of ${expected}`);
    }
    if (!verifiedBy(() => this.deps.verifier.piece(core.manifest!, id, data))) return this.bad(from.peerId, id, 'hash mismatch');
    if (this.stopped) return;
    try {
      store.write(id, data);
    } catch (err) {
      const e = err instanceof StorageError ? err : new StorageError('io', String((err as Error)?.message ?? err));
      this.stopped = true;
      this.deps.onFail(e.kind, e.message);
      return;
    }
    if (req) this.estimates.onResponse(from.peerId, req.sentAt, now, expected);
    // Other copies of it still asked of other partners (endgame, urgent or hedged copies): those that
    // take cancels drop them if not sent yet.
    for (const other of this.requests.settle(id)) this.sendCancel(other.peerId, id);
    c.piecesFetched++;
    core.partners.exchanged(from.peerId, now, false);
    this.deps.onStored(id, now);
    this.schedule(now);
  }

  /** A partner's map changed: it may hold pieces worth asking for now (no need to wait for the tick). */
  onMap(now: number): void {
    this.schedule(now);
  }

  onPartnerRemoved(peerId: string): void {
    this.requests.dropPeer(peerId);
    this.estimates.remove(peerId);
  }

  tick(now: number): void {
    const { core } = this.deps;
    for (const r of this.requests.expire(now)) {
      core.counters.requestTimeouts++;
      this.estimates.onTimeout(r.peerId);
    }
    // A piece has no deadline: partners that refused or timed out get another chance now and then.
    if (now >= this.nextExclusionReset) {
      this.nextExclusionReset = now + core.config.requestTimeoutMs;
      this.requests.clearExcluded();
      this.cancelled.clear();
    }
    this.schedule(now);
  }

  private schedule(now: number): void {
    const { core, picker } = this.deps;
    const m = core.manifest;
    const store = core.store;
    if (this.stopped || !m || !store || core.partners.size === 0) return;
    this.requests.releaseExclusions(now);
    const ctx: PickContext = {
      now,
      fromId: 0,
      toId: m.pieceCount,
      has: (id) => store.has(id),
      partners: core.partners.ids,
      maps: core.maps,
      requests: this.requests,
      estimates: this.estimates,
      chunkBytes: m.pieceBytes,
      maxInFlightPerPartner: core.config.maxInFlightPerPartner,
      random: core.random,
    };
    sendRequests(core, this.requests, picker.pick(ctx), now, {
      timeoutMs: () => core.config.requestTimeoutMs,
      bytes: (id) => pieceLength(m, id),
      redundant: () => core.counters.endgameRequests++,
      sentDue: () => core.counters.dueRequestsSent++,
    });
  }

  private bad(peerId: string, index: number, reason: string): void {
    const { core } = this.deps;
    core.counters.badPieces++;
    dropBadSender(core, this.deps.dropPeer, peerId, 'bad-piece', () => core.events?.badPiece?.(core.contentId, peerId, index, reason));
  }
}
