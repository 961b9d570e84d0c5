// The download data plane of one node (docs/downloads.md): one content (plane/plane-content.ts, download kind) per download
// this node fetches or seeds, fed by the engine's content-message hook and driven by tick() right
// after engine.tick(). Pieces live on disk behind each content's PieceStore; this plane holds no
// piece data itself (stores keep a small shared cache), so it takes nothing from the live buffers'
// budget beyond that cache. Sans-IO: time from the Clock, randomness from Random, verification
// through the DownloadVerifier, storage through the stores.
import type { Manifest } from '../protocol/manifest.js';
import { downloadConfigProblems, type DownloadConfig } from './download-config.js';
import { downloadContent, type DownloadContent } from './download-kind.js';
import type { DownloadEnginePort } from './download-core.js';
import type { DownloadEvents, DownloadVerifier, PieceStore, StoreOpener } from './download-ports.js';
import type { DownloadState, DownloadStats } from './download-stats.js';
import type { ContentMessage } from './peer-engine.js';
import type { Picker } from './picker.js';
import type { Clock, PeerAddress, Random } from './ports.js';

export type { DownloadStats } from './download-stats.js';
export type { DownloadConfig } from './download-config.js';

export interface DownloadsDeps {
  engine: DownloadEnginePort;
  clock: Clock;
  random: Random;
  config: DownloadConfig;
  verifier: DownloadVerifier;
  events?: DownloadEvents;
  /** Wraps a content's picker (a main node keeps to its share of the uplink, shared-uplink-picker.ts). */
  wrapPicker?: (contentId: string, inner: Picker) => Picker;
}

export class Downloads {
  private readonly contents = new Map<string, DownloadContent>();

  constructor(private readonly deps: DownloadsDeps) {
    const problems = downloadConfigProblems(deps.config);
    if (problems.length > 0) throw new RangeError(`invalid download config: ${problems.join('; ')}`);
  }

  /**
   * Fetches a content: its manifest from peers (unless known: a resumed record), then its pieces.
   * `tuning` overrides config fields for this content alone (a background download asks less).
   */
  fetch(contentId: string, openStore: StoreOpener, known?: { manifest: Manifest; manifestBytes: Uint8Array }, tuning: Partial<DownloadConfig> = {}): void {
    this.start(contentId, { openStore, ...(known ? { known } : {}) }, tuning);
  }

  /** Serves a content whose every piece the store holds (publisher, or a complete earlier download). */
  seed(contentId: string, manifest: Manifest, manifestBytes: Uint8Array, store: PieceStore): void {
    this.start(contentId, { known: { manifest, manifestBytes, store } });
  }

  /** Forgets a content (the caller closes its store and leaves it in the engine). */
  stop(contentId: string): PieceStore | undefined {
    const c = this.contents.get(contentId);
    this.contents.delete(contentId);
    return c?.kind.store;
  }

  /** A player reads the content at `piece` (see DownloadKind.setPlayhead); false when not active here. */
  setPlayhead(contentId: string, piece: number, rateBps: number, playerAheadMs?: number): boolean {
    const c = this.contents.get(contentId);
    c?.kind.setPlayhead(piece, rateBps, playerAheadMs);
    return c !== undefined;
  }

  /** The player reads `bytes` of the file's end before its first frame (see DownloadKind.setPlayTail). */
  setPlayTail(contentId: string, bytes: number | undefined, timedBytes?: number): void {
    this.contents.get(contentId)?.kind.setPlayTail(bytes, timedBytes);
  }

  clearPlayhead(contentId: string): void {
    this.contents.get(contentId)?.kind.clearPlayhead();
  }

  has(contentId: string): boolean {
    return this.contents.has(contentId);
  }

  /** Content messages of downloads started here. */
  receive(from: PeerAddress, msg: ContentMessage): void {
    this.contents.get(msg.contentId)?.receive(from, msg);
  }

  tick(): void {
    const now = this.deps.clock.now();
    for (const c of this.contents.values()) c.tick(now);
  }

  stats(contentId: string): DownloadStats | undefined {
    return this.contents.get(contentId)?.kind.stats();
  }

  state(contentId: string): DownloadState | undefined {
    return this.contents.get(contentId)?.kind.currentState;
  }

  storeOf(contentId: string): PieceStore | undefined {
    return this.contents.get(contentId)?.kind.store;
  }

  manifestOf(contentId: string): Manifest | undefined {
    return this.contents.get(contentId)?.kind.manifest;
  }

  /** Contents started here. */
  active(): string[] {
    return [...this.contents.keys()];
  }

  /** Every store (to flush and close on shutdown). */
  stores(): PieceStore[] {
    const out: PieceStore[] = [];
    for (const c of this.contents.values()) if (c.kind.store) out.push(c.kind.store);
    return out;
  }

  private start(contentId: string, opts: { openStore?: StoreOpener; known?: { manifest: Manifest; manifestBytes: Uint8Array; store?: PieceStore } }, tuning: Partial<DownloadConfig> = {}): void {
    if (typeof contentId !== 'string' || contentId === '') throw new RangeError('contentId must be a non-empty string');
    if (this.contents.has(contentId)) throw new RangeError(`download ${contentId} is already active`);
    const d = this.deps;
    this.contents.set(
      contentId,
      downloadContent({ contentId, engine: d.engine, clock: d.clock, random: d.random, config: { ...d.config, ...tuning }, verifier: d.verifier, events: d.events, ...opts, ...(d.wrapPicker ? { wrapPicker: (inner: Picker) => d.wrapPicker!(contentId, inner) } : {}) }),
    );
  }
}
