// The fetching side of a viewer: the join point, the playhead (Playback), the data scheduler (a
// Picker over the request queue and per-partner estimates), partner refinement, and the checks every
// received chunk passes before it is stored (and so before it can be forwarded):
//   solicited (we asked this partner for this id, or it pushes this id's sub-stream to us:
//   push-parents.ts) → not already held and inside the window (else a harmless duplicate; a chunk
//   behind the playhead is still stored — partners that lag may want it, and our map then confirms
//   it to its sender's send window) → sane (data 1..maxChunkBytes bytes, signature within the wire
//   limit, a timestamp) → verifier.verify. A chunk failing the last two is a bad chunk: counted,
//   reported, and its sender is dropped and blacklisted (dropPeer).
import type { DataChunkReject, DataChunkResp, SubstreamAck } from '../protocol/messages.js';
import { WireLimits } from '../protocol/messages.js';
import { chunkBytes, type ChunkRecord } from './chunk-buffer.js';
import { nominalChunkBytes } from './buffer-budget.js';
import type { ChunkVerifier } from './live-ports.js';
import type { LiveCore } from './live-core.js';
import { dropBadSender, RejectReason, type DropPeer, safely, verifiedBy } from './plane/plane-core.js';
import { sendRequests } from './plane/request-loop.js';
import { PeerEstimates } from './peer-estimates.js';
import type { Picker, PickContext } from './picker.js';
import { Playback, type PlaybackSink } from './playback.js';
import type { PeerAddress } from './ports.js';
import { RequestQueue } from './request-queue.js';
import { PartnerRefiner } from './partner-refiner.js';
import { PushParents } from './push-parents.js';

/** After a refusal or a switch, a partner is not asked for that sub-stream again for this long. */
const PUSH_RETRY_MS = 10_000;
/** Chunks of a sub-stream in a row pulled before its parent pushed them: the parent is left. */
const PUSH_MISS_LIMIT = 3;

export interface LiveFetcherDeps {
  core: LiveCore;
  picker: Picker;
  verifier: ChunkVerifier;
  /** Ends a partnership from the data plane (bad chunk / useless), blocking the peer for blockMs. */
  dropPeer: DropPeer;
  /** A chunk was stored (our buffer map changed). */
  onStored: (chunk: ChunkRecord, now: number) => void;
  /** Our measured upload rate (bits/s; 0 unknown), told to push parents. */
  uploadBps: () => number;
}

export class LiveFetcher {
  readonly requests = new RequestQueue();
  readonly estimates: PeerEstimates;
  readonly playback: Playback;
  readonly startedAt: number;
  /** Pushed sub-streams (substreams > 0): our parents. */
  readonly parents: PushParents | undefined;
  startupDelayMs: number | null = null;
  /** Chunks handed over when lag control last jumped. */
  private deliveredAtJump = -1;
  /** When each id of the window was first seen advertised (push grace). */
  private readonly seenAt = new Map<number, number>();
  private chunkBytesEstimate: number;
  private readonly refiner: PartnerRefiner;
  private readonly sink: PlaybackSink;
  private readonly prebufferChunks: number;

  constructor(private readonly deps: LiveFetcherDeps) {
    const { core } = deps;
    const c = core.config;
    this.estimates = new PeerEstimates({ initialRttMs: c.initialRttMs, initialThroughputBps: c.initialThroughputBps, weightPct: c.estimateWeightPct, maxWindow: c.maxInFlightPerPartner });
    this.playback = new Playback({
      chunkMs: c.chunkMs,
      prebufferMs: c.prebufferMs,
      rebuffer: c.rebufferWhenAhead > 0,
      lagStepMs: c.lagStepMs,
      maxExtraLagMs: c.maxExtraLagMs,
    });
    this.prebufferChunks = Math.round(c.prebufferMs / c.chunkMs);
    this.chunkBytesEstimate = nominalChunkBytes(c);
    this.startedAt = core.clock.now();
    this.parents =
      c.substreams > 0
        ? new PushParents({ count: c.substreams, leaseMs: c.subscribeLeaseMs, retryMs: PUSH_RETRY_MS, lagChunks: Math.max(2, c.substreams), missLimit: PUSH_MISS_LIMIT, random: core.random })
        : undefined;
    this.refiner = new PartnerRefiner(
      { config: c, partners: core.partners, random: core.random, drop: (peerId, reason, blockMs) => deps.dropPeer(peerId, reason, blockMs) },
      this.startedAt,
    );
    const contentId = core.contentId;
    this.sink = {
      ready: (chunk, now) => {
        core.counters.delivered++;
        core.counters.recordLag(now - chunk.timestampMs);
        this.startupDelayMs ??= now - this.startedAt;
        safely(() => core.events?.chunkReady?.(contentId, chunk));
      },
      skipped: (id) => safely(() => core.events?.chunkSkipped?.(contentId, id)),
      started: (firstId) => safely(() => core.events?.playbackStarted?.(contentId, firstId)),
    };
  }

  onReject(from: PeerAddress, msg: DataChunkReject): void {
    const { core } = this.deps;
    const req = this.requests.take(msg.chunkId, from.peerId);
    if (!req) return;
    core.counters.rejectsReceived++;
    const busy = msg.reason === RejectReason.Busy;
    if (msg.reason === RejectReason.NotPartner) {
      // It does not count us as a partner while we count it: the two sides disagree, e.g. after a
      // quick leave and re-join, when our old connection's PartnershipRemove (or its close) reached
      // it after our new PartnershipReq. Asking on would be refused for ever; ending the partnership
      // here lets the member scheduler form it again, this time on both sides.
      this.deps.dropPeer(from.peerId, 'not-partner', 0);
      return;
    }
    this.estimates.onReject(from.peerId, req.sentAt, core.clock.now(), busy, core.config.busyBackoffMs);
    if (!busy && msg.reason !== RejectReason.Preempted) this.requests.exclude(msg.chunkId, from.peerId);
  }

  onResponse(from: PeerAddress, msg: DataChunkResp): void {
    const { core } = this.deps;
    const c = core.counters;
    const id = msg.chunkId;
    let pushed = false;
    if (!this.requests.wasRequested(id, from.peerId)) {
      if (!this.parents?.expectsPush(from.peerId, id, core.clock.now())) {
        c.unsolicited++;
        return;
      }
      pushed = true;
    }
    const now = core.clock.now();
    const req = this.requests.take(id, from.peerId);
    const buffer = core.buffer;
    const nextId = this.playback.nextId ?? buffer.base;
    // A push may bring a chunk newer than any map we have seen: the window moves to it (never past the playhead).
    if (pushed && id >= buffer.end && id < nextId + buffer.capacity) {
      buffer.slideToInclude(id);
      this.requests.forgetBelow(buffer.base);
    }
    // Behind the playhead is still worth storing (partners that lag may want it; our map then
    // confirms it to its sender's send window) unless it is outside the window.
    if (buffer.has(id) || id < buffer.base || id >= buffer.end) {
      c.duplicates++;
      return;
    }
    const problem = insane(msg, core.config.maxChunkBytes);
    const record: ChunkRecord = { id, timestampMs: msg.timestampMs, signature: msg.signature, data: msg.data };
    if (problem !== undefined || !verifiedBy(() => this.deps.verifier.verify(core.contentId, record))) {
      this.bad(from.peerId, id, problem ?? 'verification failed');
      return;
    }
    const put = buffer.put(record);
    if (put !== 'stored' && put !== 'evicted-for-space') {
      c.chunksNotStored++;
      return;
    }
    c.chunksStored++;
    if (pushed) c.chunksPushedIn++;
    this.parents?.onStored(id, pushed ? from.peerId : undefined, now);
    const size = chunkBytes(record);
    if (req) this.estimates.onResponse(from.peerId, req.sentAt, now, size);
    this.chunkBytesEstimate += (size - this.chunkBytesEstimate) / 8;
    this.requests.settle(id);
    core.partners.exchanged(from.peerId, now, false);
    this.playback.advance(now, (x) => buffer.get(x), this.sink, this.canArrive);
    this.deps.onStored(record, now);
  }

  onPartnerRemoved(peerId: string): void {
    this.requests.dropPeer(peerId);
    this.estimates.remove(peerId);
    this.parents?.onPartnerRemoved(peerId, this.deps.core.clock.now());
  }

  /** A parent answered our subscription. */
  onAck(from: PeerAddress, msg: SubstreamAck): void {
    if (this.parents && msg.count === this.parents.count) this.parents.onAck(from.peerId, msg.mask, msg.hops, this.deps.core.clock.now());
  }

  /** The stream's rate as this viewer sees it (bits/s). */
  streamBps(): number {
    return (this.chunkBytesEstimate * 8000) / this.deps.core.config.chunkMs;
  }

  tick(now: number): void {
    const { core } = this.deps;
    for (const r of this.requests.expire(now)) {
      core.counters.requestTimeouts++;
      this.estimates.onTimeout(r.peerId, now - r.sentAt);
    }
    const newest = this.deps.core.maps.newestAdvertised();
    this.placeJoinPoint(now, newest);
    const buffer = core.buffer;
    this.playback.advance(now, (x) => buffer.get(x), this.sink, this.canArrive);
    if (this.refiner.tick(now, this.playback.chunksSkipped)) core.counters.partnersReplaced++;
    const nextId = this.playback.nextId;
    if (nextId === undefined || newest === undefined) return;
    // Window: never past the playhead at its base, up to the live edge the partners advertise.
    const toId = Math.min(newest + 1, nextId + buffer.capacity);
    if (toId - 1 >= buffer.end) {
      buffer.slideToInclude(toId - 1);
      this.requests.forgetBelow(buffer.base);
    }
    if (this.parents) this.subscribe(now);
    this.schedule(now, Math.max(nextId, buffer.base), toId);
  }

  private subscribe(now: number): void {
    const { core } = this.deps;
    const parents = this.parents as PushParents;
    for (const id of this.seenAt.keys()) if (id < core.buffer.base) this.seenAt.delete(id);
    const picker = this.deps.picker;
    const count = core.config.substreams;
    const view = {
      partners: core.partners.ids,
      maps: core.maps,
      delayMs: (peerId: string) => this.estimates.get(peerId).delayMs,
      uploadBps: this.deps.uploadBps(),
      ownNewest: core.buffer.newest,
      ...(picker.pushFrom ? { mayFeed: (peerId: string, s: number) => picker.pushFrom!(peerId, s, count) } : {}),
    };
    parents.tick(now, view, (peerId, mask) => {
      const p = core.partners.get(peerId);
      if (p) core.send(p.address, { type: 'SubstreamSub', peerId: core.selfId, contentId: core.contentId, count: parents.count, mask, uploadBps: Math.min(0xffffffff, view.uploadBps) });
    });
  }

  /** A chunk its sub-stream's parent should push: not pulled until advertised pushGraceMs ago, or near its deadline. */
  private awaitingPush(id: number, now: number): boolean {
    if (!this.parents?.awaits(id)) return false;
    const grace = this.deps.core.config.pushGraceMs;
    let seen = this.seenAt.get(id);
    if (seen === undefined) this.seenAt.set(id, (seen = now));
    return now - seen < grace && this.playback.deadline(id, now) - now > grace;
  }

  /**
   * A missing chunk can still come in time unless we are ahead of the swarm around us: it is not
   * in flight and most partners' newest chunk is older (it is still spreading towards us).
   */
  private readonly canArrive = (id: number): boolean => {
    if (this.requests.isInFlight(id)) return true;
    const { core } = this.deps;
    let older = 0;
    let known = 0;
    for (const peerId of core.partners.ids) {
      const newest = core.maps.get(peerId)?.newest;
      if (newest === undefined) continue;
      known++;
      if (newest < id) older++;
    }
    return known > 0 && older * 2 <= known;
  };

  private schedule(now: number, fromId: number, toId: number): void {
    const { core, picker } = this.deps;
    if (toId <= fromId || core.partners.size === 0) return;
    const buffer = core.buffer;
    const ctx: PickContext = {
      now,
      fromId,
      toId,
      has: (id) => buffer.has(id),
      partners: core.partners.ids,
      maps: core.maps,
      requests: this.requests,
      estimates: this.estimates,
      chunkBytes: this.chunkBytesEstimate,
      maxInFlightPerPartner: core.config.maxInFlightPerPartner,
      random: core.random,
      deadline: (id) => this.playback.deadline(id, now),
      awaitingPush: this.parents ? (id) => this.awaitingPush(id, now) : undefined,
    };
    const c = core.config;
    sendRequests(core, this.requests, picker.pick(ctx), now, {
      timeoutMs: (peerId) => this.estimates.timeoutMs(peerId, c.requestTimeoutMs, c.requestTimeoutMinMs, c.requestTimeoutMaxMs),
      bytes: () => this.chunkBytesEstimate,
      redundant: () => core.counters.redundantRequests++,
    });
  }

  /**
   * Join point: the newest id any partner advertises − prebuffer; moved nearer the edge before the
   * first chunk is handed over when it turns out far behind it or unobtainable; and after playback
   * started, a playhead that fell behind every partner's window — or, with lagTargetMs, whose last
   * chunk was played further behind its source time than that — jumps there too (the chunks jumped
   * over are skipped).
   */
  private placeJoinPoint(now: number, newest: number | undefined): void {
    if (newest === undefined) return;
    const pb = this.playback;
    const target = Math.max(0, newest - this.prebufferChunks);
    if (pb.nextId === undefined) {
      pb.join(target, now);
      return;
    }
    // Lag control: the last chunk handed over was further behind its source time than the target
    // (and a chunk was handed over since the last jump, so the figure is not the one that caused it).
    const counters = this.deps.core.counters;
    const lagTargetMs = this.deps.core.config.lagTargetMs;
    const tooFar = lagTargetMs > 0 && counters.lastLagMs !== null && counters.lastLagMs > lagTargetMs && counters.delivered > this.deliveredAtJump;
    if (pb.started && target > pb.nextId && (tooFar || this.behindEveryPartner(pb.nextId))) {
      const contentId = this.deps.core.contentId;
      const from = pb.nextId;
      pb.jumpTo(target, now);
      if (tooFar) {
        counters.lagJumps++;
        this.deliveredAtJump = counters.delivered;
      }
      for (let id = from; id < target; id++) safely(() => this.deps.core.events?.chunkSkipped?.(contentId, id));
      return;
    }
    if (pb.firstReadyAt !== undefined) return;
    const next = pb.nextId;
    // Nothing handed over yet: follow the edge when a later map shows we joined far behind it (the
    // first map came from a partner that lags), or when the join point's chunk cannot be had.
    if (target > next + this.prebufferChunks) return pb.join(target, now);
    if (now - (pb.joinedAt ?? now) < this.deps.core.config.joinStallMs) return;
    if (target > next && this.deps.core.maps.supplierCount(next) === 0 && !this.requests.isInFlight(next)) pb.join(target, now);
  }

  /** No partner holds `id` or anything older, nor is it in flight: every window moved past it. */
  private behindEveryPartner(id: number): boolean {
    const { core } = this.deps;
    if (this.requests.isInFlight(id) || core.buffer.has(id)) return false;
    let any = false;
    for (const peerId of core.partners.ids) {
      const map = core.maps.get(peerId);
      if (!map) continue;
      any = true;
      if (map.baseId <= id) return false;
    }
    return any;
  }

  private bad(peerId: string, chunkId: number, reason: string): void {
    const { core } = this.deps;
    core.counters.badChunks++;
    dropBadSender(core, this.deps.dropPeer, peerId, 'bad-chunk', () => core.events?.badChunk?.(core.contentId, peerId, chunkId, reason));
  }
}

/** Why a DataChunkResp cannot be a chunk (undefined when its shape and sizes are sane). */
function insane(msg: DataChunkResp, maxChunkBytes: number): string | undefined {
  if (!(msg.data instanceof Uint8Array) || !(msg.signature instanceof Uint8Array)) return 'malformed';
  if (msg.data.byteLength === 0 || msg.data.byteLength > maxChunkBytes) return `data size ${msg.data.byteLength} out of range`;
  if (msg.signature.byteLength > WireLimits.maxSignatureBytes) return 'signature too long';
  if (typeof msg.timestampMs !== 'number' || !Number.isFinite(msg.timestampMs) || msg.timestampMs < 0) return 'bad timestamp';
  return undefined;
}
