// The live data plane of one node (docs/live.md): one content (plane/plane-content.ts, live kind) per live channel this node sources or
// views, fed by the engine's content router (plane/content-router.ts: the messages of the contents
// it runs) and driven by tick() right after engine.tick(). Owns the buffer budget: it is split evenly over the active contents (see
// buffer-budget.ts) and re-split whenever one starts or stops, so bufferBytes() never exceeds it.
// Sans-IO: time from the Clock, randomness from Random, verification through the ChunkVerifier.
import type { ChunkBuffer, ChunkRecord } from './chunk-buffer.js';
import { bufferShare } from './buffer-budget.js';
import { liveConfigProblems, type LiveConfig } from './live-config.js';
import { liveContent, type LiveContent, type LiveRole } from './live-kind.js';
import type { LiveEnginePort } from './live-core.js';
import { LivePicker } from './live-picker.js';
import type { ChunkVerifier, LiveEvents } from './live-ports.js';
import type { LiveStats } from './live-stats.js';
import { ContentRouter, type ContentPort } from './plane/content-router.js';
import type { Picker } from './picker.js';
import type { Playback } from './playback.js';
import type { Clock, Random } from './ports.js';

export type { LiveStats } from './live-stats.js';
export type { LiveConfig } from './live-config.js';

/** What bufferOf() exposes of a ChunkBuffer: reads only. */
export type ChunkBufferView = Pick<ChunkBuffer, 'base' | 'end' | 'bytes' | 'maxBytes' | 'capacity' | 'count' | 'newest' | 'has' | 'get' | 'heldIds' | 'map'>;

/** What playbackOf() exposes of a viewer's playhead: when each chunk is due (the player's clock). */
export type PlaybackView = Pick<Playback, 'dueAt'>;

/** The engine as LiveChannels needs it: the data-plane port plus the content port a router owns. */
export interface LiveChannelsEngine extends LiveEnginePort, ContentPort {}

export interface LiveChannelsDeps {
  engine: LiveChannelsEngine;
  clock: Clock;
  random: Random;
  config: LiveConfig;
  verifier: ChunkVerifier;
  events?: LiveEvents;
  /** Bytes all live buffers together may hold (hard cap). */
  budgetBytes: number;
  /** Picker per viewed content (default: a LivePicker from the config). */
  pickerFor?: (contentId: string) => Picker;
  /** The engine's content router, shared with the other planes (default: one of our own on the engine). */
  router?: ContentRouter;
}

export class LiveChannels {
  private readonly contents = new Map<string, LiveContent>();

  constructor(private readonly deps: LiveChannelsDeps) {
    const problems = liveConfigProblems(deps.config);
    if (problems.length > 0) throw new RangeError(`invalid live config: ${problems.join('; ')}`);
    if (!Number.isSafeInteger(deps.budgetBytes) || deps.budgetBytes < 1) {
      throw new RangeError(`budgetBytes must be a positive integer (got ${deps.budgetBytes})`);
    }
    (deps.router ?? new ContentRouter(deps.engine)).add({ runs: (id) => this.contents.has(id), receive: (from, msg) => this.contents.get(msg.contentId)?.receive(from, msg) });
  }

  /** This node produces the channel's chunks (engine.join is the caller's). */
  startSource(contentId: string): void {
    this.start(contentId, 'source');
  }

  /** This node fetches the channel from partners; playback from the join point. */
  startViewer(contentId: string): void {
    this.start(contentId, 'viewer');
  }

  /** Source: stores and advertises a chunk. Ignored unless the content was started as a source. */
  publishChunk(contentId: string, chunk: ChunkRecord): void {
    this.contents.get(contentId)?.kind.publish(chunk);
  }

  stop(contentId: string): void {
    if (this.contents.delete(contentId)) this.reshare();
  }

  tick(): void {
    const now = this.deps.clock.now();
    for (const c of this.contents.values()) c.tick(now);
  }

  stats(contentId: string): LiveStats | undefined {
    return this.contents.get(contentId)?.kind.stats();
  }

  /** Bytes held by every live buffer (never above budgetBytes). */
  bufferBytes(): number {
    let n = 0;
    for (const c of this.contents.values()) n += c.kind.buffer.bytes;
    return n;
  }

  /** Read-only view of a content's buffer (inspection: tests, simulator, status). */
  bufferOf(contentId: string): ChunkBufferView | undefined {
    return this.contents.get(contentId)?.kind.buffer;
  }

  /** A viewed content's playhead, the clock its player follows (undefined for a source or a content not started). */
  playbackOf(contentId: string): PlaybackView | undefined {
    return this.contents.get(contentId)?.kind.playback;
  }

  /** Contents started here, with their role. */
  active(): Array<{ contentId: string; role: LiveRole }> {
    return [...this.contents].map(([contentId, c]) => ({ contentId, role: c.kind.role }));
  }

  private start(contentId: string, role: LiveRole): void {
    if (typeof contentId !== 'string' || contentId === '') throw new RangeError('contentId must be a non-empty string');
    const existing = this.contents.get(contentId);
    if (existing?.kind.role === role) return;
    if (existing) this.contents.delete(contentId);
    const d = this.deps;
    // Shrink the others first, so the sum of caps never exceeds the budget.
    const share = bufferShare(d.budgetBytes, this.contents.size + 1, d.config);
    for (const c of this.contents.values()) c.kind.resize(share);
    const picker = d.pickerFor?.(contentId) ?? new LivePicker({ urgentMs: d.config.urgentMs, deadlineBucketMs: d.config.deadlineBucketMs });
    const content = liveContent({
      contentId,
      role,
      engine: d.engine,
      clock: d.clock,
      random: d.random,
      config: d.config,
      verifier: d.verifier,
      events: d.events,
      share,
      picker,
    });
    this.contents.set(contentId, content);
  }

  private reshare(): void {
    const share = bufferShare(this.deps.budgetBytes, this.contents.size, this.deps.config);
    for (const c of this.contents.values()) c.kind.resize(share);
  }

}
