// The download kind of content (plane/plane-content.ts runs it): the shared core, the serving side
// (DownloadServer) and, until every piece is held, the fetching side (DownloadFetcher). A partner's
// map is taken only when it describes this file; requests may carry a deadline and be cancelled
// (Features 'due', 'cancel'); the manifest messages are a download's own. States:
//   waiting-manifest → (manifest verified against the content id, store opened) → downloading →
//   (last piece written, store finished: .part renamed) → seeding;  any → failed (storage error).
// Without a manifest, ManifestReq goes to a few members of the content (manifest-asks.ts);
// the first answer whose SHA-256 is the content id wins. Seeding, partners that
// are complete too are let go (seedReleaseMs), so their slots go to peers that still fetch.
import type { DataChunkReject, DataChunkResp } from '../protocol/messages.js';
import type { BufferMap } from './buffer-map.js';
import type { ContentMessage } from './content-messages.js';
import type { Manifest } from '../protocol/manifest.js';
import { pieceLength } from '../protocol/manifest.js';
import type { DownloadConfig } from './download-config.js';
import type { DownloadCore, DownloadEnginePort } from './download-core.js';
import { DownloadFetcher, type FetchPicker } from './download-fetcher.js';
import { DownloadPicker } from './download-picker.js';
import { ManifestAsks } from './manifest-asks.js';
import { OnDemandPicker } from './ondemand-picker.js';
import { StorageError, type DownloadEvents, type DownloadVerifier, type PieceStore, type StoreOpener } from './download-ports.js';
import { DownloadServer } from './download-server.js';
import { DownloadCounters, playbackWindowStats, type DownloadState, type DownloadStats } from './download-stats.js';
import type { LivePartner } from './live-partners.js';
import { PlaneContent, type DropPeer, type PlaneKind } from './plane/plane-content.js';
import { planeCore, safely } from './plane/plane-core.js';
import { FEATURE_CANCEL, FEATURE_DUE } from './plane/plane-partners.js';
import type { Picker } from './picker.js';
import type { Clock, PeerAddress, Random } from './ports.js';

export interface DownloadContentOptions {
  contentId: string;
  engine: DownloadEnginePort;
  clock: Clock;
  random: Random;
  config: DownloadConfig;
  verifier: DownloadVerifier;
  events: DownloadEvents | undefined;
  /** Fetching: opens the store once the manifest is known. */
  openStore?: StoreOpener;
  /** Known from the start (publisher, complete file, or a resumed record). */
  known?: { manifest: Manifest; manifestBytes: Uint8Array; store?: PieceStore };
  /** Wraps whichever picker is in use (a main node keeps to its share of the uplink). */
  wrapPicker?: (inner: Picker) => Picker;
}

/** How often complete partners are looked for while seeding. */
const SEED_RELEASE_SCAN_MS = 1000;
/** What a download's plane tells each new partner it understands (Features). */
const DOWNLOAD_FEATURES = [FEATURE_DUE, FEATURE_CANCEL];

/** One download content: the plane with the download kind. */
export type DownloadContent = PlaneContent<DownloadKind>;

export function downloadContent(o: DownloadContentOptions): DownloadContent {
  const core: DownloadCore = { ...planeCore(o, new DownloadCounters()), events: o.events, manifest: undefined, manifestBytes: undefined, store: undefined };
  return new PlaneContent(core, (drop) => new DownloadKind(core, o, drop));
}

export class DownloadKind implements PlaneKind {
  readonly features = DOWNLOAD_FEATURES;
  private readonly server: DownloadServer;
  private readonly picker: DownloadPicker;
  /** Set while the content is played (a playback position is known). */
  private ondemand: OnDemandPicker | undefined;
  /** Bytes of the file's end the player reads before its first frame (setPlayTail; undefined: playTailBytes). */
  private playTail: { bytes: number | undefined; timed: number | undefined } = { bytes: undefined, timed: undefined };
  private fetcher: DownloadFetcher | undefined;
  private state: DownloadState = 'waiting-manifest';
  private error: { kind: string; message: string } | null = null;
  private readonly manifestAsks = new ManifestAsks();
  private nextReleaseScanAt = -Infinity;
  private readonly startedAt: number;
  private completedAt: number | undefined;
  private piecesAtStart = 0;

  constructor(
    private readonly core: DownloadCore,
    private readonly o: DownloadContentOptions,
    private readonly drop: DropPeer,
  ) {
    this.server = new DownloadServer(this.core);
    this.picker = new DownloadPicker({ endgameCopies: o.config.endgameCopies });
    this.startedAt = o.clock.now();
    if (o.known) this.useManifest(o.known.manifest, o.known.manifestBytes, undefined, o.known.store);
    else this.manifestAsks.ask(this.core, this.startedAt);
  }

  partnerAdded(p: LivePartner, now: number): void {
    this.server.onPartnerAdded(p, now);
  }

  partnerRemoved(peerId: string): void {
    this.fetcher?.onPartnerRemoved(peerId);
    this.server.onPartnerRemoved(peerId);
  }

  /** A map of another file (or taken before the manifest, checked when it comes) is not ours. */
  fits(map: BufferMap): boolean {
    const m = this.core.manifest;
    return !m || (map.baseId === 0 && map.length === m.pieceCount);
  }

  mapUpdated(now: number): void {
    this.fetcher?.onMap(now);
  }

  serve(from: PeerAddress, chunkId: number, dueInMs: number | undefined): void {
    this.server.onRequest(from, chunkId, dueInMs);
  }

  cancel(from: PeerAddress, chunkId: number): void {
    this.server.onCancel(from, chunkId);
  }

  response(from: PeerAddress, msg: DataChunkResp): void {
    if (this.fetcher) this.fetcher.onResponse(from, msg);
    else this.core.counters.unsolicited++;
  }

  reject(from: PeerAddress, msg: DataChunkReject): void {
    this.fetcher?.onReject(from, msg);
  }

  other(from: PeerAddress, msg: ContentMessage): void {
    if (msg.type === 'ManifestReq') this.server.onManifestReq(from);
    else if (msg.type === 'ManifestResp') this.onManifest(from, msg.manifest);
  }

  tick(now: number): void {
    if (this.state === 'waiting-manifest') this.manifestAsks.ask(this.core, now);
    if (this.state === 'downloading') {
      this.fetcher?.tick(now);
      this.storeTick(now);
    }
    if (this.state === 'seeding') this.releaseSeeds(now);
    this.server.tick(now);
  }

  /** The store, to close it when the content stops (undefined before the manifest). */
  get store(): PieceStore | undefined {
    return this.core.store;
  }

  get manifest(): Manifest | undefined {
    return this.core.manifest;
  }

  get currentState(): DownloadState {
    return this.state;
  }

  stats(): DownloadStats {
    const { core } = this;
    const c = core.counters;
    const m = core.manifest;
    const store = core.store;
    const verified = store?.count ?? 0;
    let bytesVerified = 0;
    if (m && store) bytesVerified = verified === m.pieceCount ? m.sizeBytes : verified * m.pieceBytes - (store.has(m.pieceCount - 1) ? m.pieceBytes - pieceLength(m, m.pieceCount - 1) : 0);
    return {
      state: this.state,
      name: m?.name ?? null,
      sizeBytes: m?.sizeBytes ?? null,
      pieceBytes: m?.pieceBytes ?? null,
      pieces: m?.pieceCount ?? null,
      piecesVerified: verified,
      bytesVerified,
      progress: m ? bytesVerified / m.sizeBytes : 0,
      piecesAtStart: this.piecesAtStart,
      piecesFetched: c.piecesFetched,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      pieceBytesIn: c.dataBytesIn,
      pieceBytesOut: c.dataBytesOut,
      controlBytesIn: c.controlBytesIn,
      controlBytesOut: c.controlBytesOut,
      badPieces: c.badPieces,
      badManifests: c.badManifests,
      duplicates: c.duplicates,
      unsolicited: c.unsolicited,
      requestsSent: c.requestsSent,
      requestTimeouts: c.requestTimeouts,
      endgameRequests: c.endgameRequests,
      endgame: this.state === 'downloading' && (this.fetcher?.endgame ?? false),
      requestsCancelled: c.requestsCancelled,
      playback: this.playbackStats(),
      rejectsReceived: c.rejectsReceived,
      piecesServed: c.piecesServed,
      dueRequestsSent: c.dueRequestsSent,
      dueRequestsIn: c.dueRequestsIn,
      requestsRefused: c.requestsRefused,
      relayedRefusals: c.relayedRefusals,
      servesCancelled: c.servesCancelled,
      partnersBlacklisted: c.partnersBlacklisted,
      seedsReleased: c.seedsReleased,
      partners: core.partners.size,
      partnerIds: [...core.partners.ids],
      peersServed: c.servedPeers.size,
      suppliers: [...core.partners.all()]
        .map((p) => ({ peerId: p.peerId, pieces: p.chunksIn, piecesServed: p.chunksOut }))
        .sort((a, b) => b.pieces - a.pieces),
      completedInMs: this.completedAt === undefined ? null : this.completedAt - this.startedAt,
      error: this.error,
    };
  }

  /** The playback window while the content is played and downloads. */
  private playbackStats(): DownloadStats['playback'] {
    const m = this.core.manifest;
    const store = this.core.store;
    if (!this.ondemand || !m || !store || this.state !== 'downloading') return null;
    return playbackWindowStats(this.ondemand.window(m.pieceBytes, m.pieceCount), (id) => store.has(id), this.fetcher?.requests.size ?? 0);
  }

  /**
   * The player reads at piece `piece` (it started, went on, or seeked) at `rateBps` (measured; 0:
   * unknown): the on-demand picker takes over, its window moves at once, and requests the window no
   * longer needs are given up — except for a read in the file's tail (a probe of its end).
   */
  setPlayhead(piece: number, rateBps: number, playerAheadMs?: number): void {
    const now = this.core.clock.now();
    const ahead = playerAheadMs === undefined ? undefined : { ms: playerAheadMs, at: now };
    let p = this.ondemand;
    if (!p) {
      const c = this.core.config;
      p = new OnDemandPicker({ endgameCopies: c.endgameCopies, windowMs: c.playWindowMs, minWindowPieces: c.playWindowMinPieces, maxWindowPieces: c.playWindowMaxPieces, urgentMs: c.playUrgentMs, urgentCopies: c.playUrgentCopies, tailBytes: c.playTailBytes, headBytes: c.playHeadBytes, startMs: c.playStartMs, hedgeMs: c.playHedgeMs, spreadMs: c.playSpreadMs });
      this.ondemand = p;
      this.playStart();
      p.setPlayhead(piece, rateBps, ahead);
      this.fetcher?.usePicker(this.wrapped(p), now);
      return;
    }
    // A read in the file's tail is the player probing its end (mpv reads an MPEG-TS file's last
    // bytes for its duration, then goes back): the tail is fetched first anyway, so the window
    // stays where playback is and none of its requests are given up.
    const m = this.core.manifest;
    if (m && piece >= p.tailFrom(m.pieceCount, m.pieceBytes)) return p.setPlayhead(p.playheadPiece, rateBps, ahead);
    const moved = p.playheadPiece !== Math.max(0, Math.floor(piece));
    p.setPlayhead(piece, rateBps, ahead);
    if (moved) this.fetcher?.playheadMoved(p, now);
  }

  /**
   * The player reads `bytes` of the file's end before its first frame (undefined: playTailBytes),
   * or `timedBytes` when the manifest tells the film's duration: told it, mpv reads only the last
   * piece, or nothing when the manifest has it (player/told-duration.ts). Kept for the next
   * on-demand picker too.
   */
  setPlayTail(bytes: number | undefined, timedBytes?: number): void {
    this.playTail = { bytes, timed: timedBytes };
    this.playStart();
  }

  /** The on-demand picker's start: the tail, and the head (told the manifest's duration, the box holds playPrebufferMs first: vod-session.ts). */
  private playStart(): void {
    const p = this.ondemand;
    if (!p) return;
    const t = this.playTail;
    const m = this.core.manifest;
    const timed = t.timed !== undefined && m?.durationMs !== undefined;
    p.setTailBytes(timed ? t.timed : t.bytes);
    const prebuffer = timed ? Math.ceil((this.core.config.playPrebufferMs * m.sizeBytes) / m.durationMs!) : 0;
    p.setHeadBytes(prebuffer > this.core.config.playHeadBytes ? prebuffer : undefined);
  }

  /** Nobody plays it any more: rarest first again. */
  clearPlayhead(): void {
    if (!this.ondemand) return;
    this.ondemand = undefined;
    this.fetcher?.usePicker(this.wrapped(this.picker), this.core.clock.now());
  }

  private wrapped(inner: FetchPicker): FetchPicker {
    const wrap = this.o.wrapPicker;
    if (!wrap) return inner;
    const outer = wrap(inner);
    return { pick: (ctx) => outer.pick(ctx), get endgame() { return inner.endgame; } };
  }

  // ---- manifest ---------------------------------------------------------------------------------

  private onManifest(from: PeerAddress, bytes: Uint8Array): void {
    if (this.state !== 'waiting-manifest' || !(bytes instanceof Uint8Array) || bytes.length === 0) return;
    let result;
    try {
      result = this.o.verifier.manifest(this.core.contentId, bytes);
    } catch (err) {
      result = `verifier failed: ${String(err)}`;
    }
    // The content's own manifest in a form this box cannot read: nobody to blame, nothing to fetch.
    if (typeof result === 'object' && 'unreadable' in result) return this.fail(new StorageError('unsupported', `this box cannot read the manifest of ${this.core.contentId} (${result.unreadable}): it needs a newer superdist`));
    if (typeof result === 'string') {
      this.core.counters.badManifests++;
      safely(() => this.core.events?.badManifest?.(this.core.contentId, from.peerId, result as string));
      this.o.engine.dropPartner(this.core.contentId, from.peerId, 'bad-manifest', this.core.config.blacklistMs);
      return;
    }
    this.useManifest(result, bytes, from, undefined);
  }

  private useManifest(manifest: Manifest, bytes: Uint8Array, from: PeerAddress | undefined, given: PieceStore | undefined): void {
    const { core } = this;
    let store = given;
    if (!store) {
      try {
        if (!this.o.openStore) throw new StorageError('io', 'no store for this download');
        store = this.o.openStore(manifest, bytes);
      } catch (err) {
        core.manifest = manifest;
        core.manifestBytes = bytes;
        return this.fail(err);
      }
    }
    core.manifest = manifest;
    core.manifestBytes = bytes;
    core.store = store;
    this.playStart();
    this.piecesAtStart = store.resumedCount;
    // Maps that arrived before the manifest: keep those that describe this file.
    for (const peerId of core.maps.peers()) if (core.maps.get(peerId)?.length !== manifest.pieceCount) core.maps.remove(peerId);
    safely(() => core.events?.manifestReady?.(core.contentId, manifest, from));
    const now = core.clock.now();
    this.server.start(now);
    if (store.count >= manifest.pieceCount) {
      this.finish(now, true);
      return;
    }
    this.state = 'downloading';
    this.fetcher = new DownloadFetcher({
      core,
      picker: this.wrapped(this.ondemand ?? this.picker),
      verifier: this.o.verifier,
      dropPeer: this.drop,
      onStored: (index, at) => this.onStored(index, at),
      onFail: (kind, message) => this.fail(new StorageError(kind, message)),
    });
  }

  // ---- pieces -----------------------------------------------------------------------------------

  private onStored(index: number, now: number): void {
    this.server.have(index);
    safely(() => this.core.events?.pieceStored?.(this.core.contentId, index));
    const m = this.core.manifest;
    if (m && this.core.store && this.core.store.count >= m.pieceCount) this.finish(now, false);
    else this.server.advertise(now);
  }

  private finish(now: number, alreadyComplete: boolean): void {
    const store = this.core.store;
    try {
      store?.finish();
    } catch (err) {
      return this.fail(err);
    }
    this.fetcher?.stop();
    this.fetcher = undefined;
    this.state = 'seeding';
    this.completedAt = alreadyComplete ? this.startedAt : now;
    this.server.advertise(now);
    safely(() => this.core.events?.completed?.(this.core.contentId));
  }

  private storeTick(now: number): void {
    try {
      this.core.store?.tick(now);
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    if (this.state === 'failed') return;
    const e = err instanceof StorageError ? err : new StorageError('io', String((err as Error)?.message ?? err));
    this.fetcher?.stop();
    this.state = 'failed';
    this.error = { kind: e.kind, message: e.message };
    safely(() => this.core.events?.failed?.(this.core.contentId, e.kind, e.message));
  }

  // ---- partners ---------------------------------------------------------------------------------

  /** Seeding: complete partners gain nothing from us, nor we from them; free their slots. */
  private releaseSeeds(now: number): void {
    const { core } = this;
    const c = core.config;
    if (c.seedReleaseMs === 0 || now < this.nextReleaseScanAt || !core.manifest) return;
    this.nextReleaseScanAt = now + SEED_RELEASE_SCAN_MS;
    for (const peerId of [...core.partners.ids]) {
      const map = core.maps.get(peerId);
      if (map && map.count >= core.manifest.pieceCount) {
        core.counters.seedsReleased++;
        this.drop(peerId, 'both-complete', c.seedReleaseMs);
      }
    }
  }
}
