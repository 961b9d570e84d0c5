// The live kind of content (plane/plane-content.ts runs it), source or viewer: the shared core
// (buffer, partners, counters, counting send), the serving side (LiveServer) and, for a viewer, the
// fetching side (LiveFetcher). Live takes any partner's map (its window slides), serves a request
// with a deadline like any other (it has deadlines of its own), and knows the sub-stream messages.
import type { DataChunkReject, DataChunkResp } from '../protocol/messages.js';
import type { ContentMessage } from './content-messages.js';
import { rebuildBuffer, type BufferShare } from './buffer-budget.js';
import type { ChunkBuffer, ChunkRecord } from './chunk-buffer.js';
import type { LiveConfig } from './live-config.js';
import type { LiveCore, LiveEnginePort } from './live-core.js';
import { LiveFetcher } from './live-fetcher.js';
import type { ChunkVerifier, LiveEvents } from './live-ports.js';
import { LiveServer } from './live-server.js';
import { LiveCounters, type LiveStats } from './live-stats.js';
import type { Picker } from './picker.js';
import type { Playback } from './playback.js';
import type { LivePartner } from './live-partners.js';
import { PlaneContent, type DropPeer, type PlaneKind } from './plane/plane-content.js';
import { planeCore } from './plane/plane-core.js';
import { FEATURE_DUE, FEATURE_MAP_DELTA } from './plane/plane-partners.js';
import type { Clock, PeerAddress, Random } from './ports.js';

export type LiveRole = 'source' | 'viewer';

export interface LiveContentOptions {
  contentId: string;
  role: LiveRole;
  engine: LiveEnginePort;
  clock: Clock;
  random: Random;
  config: LiveConfig;
  verifier: ChunkVerifier;
  events: LiveEvents | undefined;
  share: BufferShare;
  picker: Picker;
}

/** One live content: the plane with the live kind. */
export type LiveContent = PlaneContent<LiveKind>;

export function liveContent(o: LiveContentOptions): LiveContent {
  const core: LiveCore = { ...planeCore(o, new LiveCounters()), events: o.events, buffer: rebuildBuffer(undefined, o.share, 0) };
  return new PlaneContent(core, (drop) => new LiveKind(core, o, drop));
}

/** Every live node takes map deltas; a source also takes deadlines. */
const VIEWER_FEATURES = [FEATURE_MAP_DELTA];
const SOURCE_FEATURES = [FEATURE_DUE, FEATURE_MAP_DELTA];

export class LiveKind implements PlaneKind {
  readonly role: LiveRole;
  /** A source takes requests with the requester's deadline (its copies budget reads them); nobody sends live a cancel; every live node takes map deltas. */
  readonly features: readonly string[];
  private readonly server: LiveServer;
  private readonly fetcher: LiveFetcher | undefined;

  constructor(
    private readonly core: LiveCore,
    o: LiveContentOptions,
    drop: DropPeer,
  ) {
    this.role = o.role;
    this.features = o.role === 'source' ? SOURCE_FEATURES : VIEWER_FEATURES;
    this.server = new LiveServer(core, o.role === 'source', {
      ownHops: (s) => this.fetcher?.parents?.ownHops(s) ?? 255,
      parentOf: (s) => this.fetcher?.parents?.parentOf(s),
      streamBps: () => this.fetcher?.streamBps() ?? 0,
    });
    if (o.role === 'viewer') {
      this.fetcher = new LiveFetcher({
        core,
        picker: o.picker,
        verifier: o.verifier,
        dropPeer: drop,
        onStored: (chunk, now) => this.server.onStored(chunk, now),
        uploadBps: () => this.server.uploadBps,
      });
    }
  }

  /** A viewer's playhead: the one playback clock of what its player is fed (undefined for a source). */
  get playback(): Playback | undefined {
    return this.fetcher?.playback;
  }

  get buffer(): ChunkBuffer {
    return this.core.buffer;
  }

  partnerAdded(p: LivePartner, now: number): void {
    this.server.onPartnerAdded(p, now);
  }

  partnerRemoved(peerId: string): void {
    this.fetcher?.onPartnerRemoved(peerId);
    this.server.onPartnerRemoved(peerId);
  }

  fits(): boolean {
    return true;
  }

  mapUpdated(): void {}

  serve(from: PeerAddress, chunkId: number, dueInMs: number | undefined): void {
    this.server.onRequest(from, chunkId, dueInMs);
  }

  cancel(): void {}

  response(from: PeerAddress, msg: DataChunkResp): void {
    this.core.counters.chunksIn++;
    if (this.fetcher) this.fetcher.onResponse(from, msg);
    else this.core.counters.unsolicited++;
  }

  reject(from: PeerAddress, msg: DataChunkReject): void {
    this.fetcher?.onReject(from, msg);
  }

  other(from: PeerAddress, msg: ContentMessage): void {
    if (msg.type === 'SubstreamSub') this.server.onSubscribe(from, msg);
    else if (msg.type === 'SubstreamAck') this.fetcher?.onAck(from, msg);
  }

  tick(now: number): void {
    this.fetcher?.tick(now);
    this.server.tick(now);
  }

  /** Source: stores a chunk (sliding the window to it) and advertises it. */
  publish(chunk: ChunkRecord): boolean {
    const { core } = this;
    if (this.role !== 'source') return false;
    core.buffer.slideToInclude(chunk.id);
    const put = core.buffer.put(chunk);
    if (put !== 'stored' && put !== 'evicted-for-space') return false;
    core.counters.streamBytes += chunk.data.byteLength;
    core.counters.chunksPublished++;
    this.server.onPublish(chunk, core.clock.now());
    return true;
  }

  /** New share of the budget: the buffer is rebuilt around the playhead (viewer) or the newest chunk. */
  resize(share: BufferShare): void {
    const old = this.core.buffer;
    const newest = old.newest ?? old.base;
    const edgeBase = newest - share.windowChunks + 1;
    const playhead = this.fetcher?.playback.nextId;
    const base = playhead === undefined ? edgeBase : Math.min(playhead, edgeBase);
    this.core.buffer = rebuildBuffer(old, share, Math.max(0, base));
    this.fetcher?.requests.forgetBelow(this.core.buffer.base);
  }

  stats(): LiveStats {
    const { core } = this;
    const c = core.counters;
    const pb = this.fetcher?.playback;
    const buffer = core.buffer;
    return {
      role: this.role,
      continuityIndex: pb?.continuityIndex ?? null,
      chunksDue: pb?.chunksDue ?? 0,
      chunksOnTime: pb?.chunksOnTime ?? 0,
      chunksSkipped: pb?.chunksSkipped ?? 0,
      stalls: pb?.stalls ?? 0,
      rebuffers: pb?.rebuffers ?? 0,
      rebufferMs: pb?.rebufferMs ?? 0,
      startupDelayMs: this.fetcher?.startupDelayMs ?? null,
      lagMs: c.lastLagMs,
      lagP50Ms: c.lagPercentile(50),
      lagP95Ms: c.lagPercentile(95),
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      chunkBytesIn: c.dataBytesIn,
      chunkBytesOut: c.dataBytesOut,
      controlBytesIn: c.controlBytesIn,
      controlBytesOut: c.controlBytesOut,
      chunksIn: c.chunksIn,
      chunksStored: c.chunksStored,
      chunksNotStored: c.chunksNotStored,
      badChunks: c.badChunks,
      duplicates: c.duplicates,
      unsolicited: c.unsolicited,
      requestsSent: c.requestsSent,
      requestTimeouts: c.requestTimeouts,
      redundantRequests: c.redundantRequests,
      rejectsReceived: c.rejectsReceived,
      chunksServed: c.chunksServed,
      requestsRefused: c.requestsRefused,
      servesCancelled: c.servesCancelled,
      sourceDeferred: c.sourceDeferred,
      ...this.server.windowStats(),
      chunksPushed: c.chunksPushed,
      pushesDropped: c.pushesDropped,
      chunksPushedIn: c.chunksPushedIn,
      ...this.server.pushStats(),
      pushFed: this.fetcher?.parents?.fed ?? 0,
      parentSwitches: this.fetcher?.parents?.switches ?? 0,
      lagJumps: c.lagJumps,
      partnersBlacklisted: c.partnersBlacklisted,
      partnersReplaced: c.partnersReplaced,
      bufferBytes: buffer.bytes,
      bufferCapBytes: buffer.maxBytes,
      windowChunks: buffer.capacity,
      playheadId: pb?.nextId ?? null,
      newestId: buffer.newest ?? null,
      streamBytes: c.streamBytes,
      chunksPublished: c.chunksPublished,
      partners: core.partners.size,
      partnerIds: [...core.partners.ids],
      suppliers: [...core.partners.all()]
        .map((p) => ({ peerId: p.peerId, chunks: p.chunksIn, chunksServed: p.chunksOut }))
        .sort((a, b) => b.chunks - a.chunks),
    };
  }
}
