// The live channel's player pipe: the node pushes chunks as they arrive (in any order); LiveOutput
// puts them in order, waits for a prebuffer, paces them with a token bucket (one token per
// millisecond of media, capacity = the player's buffer; thesis §4.5.2.1) and hands them, in
// sequence order, to its feeds (the stream server's channel, a recorder).
//
// Timeline: playback starts when `prebufferMs` of contiguous media is buffered (t0). A chunk whose
// media starts `m` ms after the first chunk is due at t0 + m — the moment an ideal player that began
// at t0 reaches it. A chunk that is not here by then (or arrives after its turn) is skipped: the
// feeds get onGap(seq) and it counts as a discontinuity. Missing chunks are assumed to last as long
// as the last chunk seen. After `rebufferAfterGapMs` of consecutive gaps the output stops and
// prebuffers again (a new t0), so a source that stalled and resumed is played again rather than
// skipped forever. Continuity index = chunks handed over before their deadline ÷ chunks due, from
// the first t0 (DONet's definition).
import type { Clock } from '../engine/ports.js';
import { DEFAULT_LIVE_CONFIG } from '../engine/live-config.js';
import { TokenBucket } from './token-bucket.js';

/**
 * How far ahead of the ideal playhead the player may be fed (the token bucket's capacity); the
 * default of player.bufferMs. The prebuffer defaults to live.prebufferMs.
 */
export const LIVE_PLAYER_BUFFER_MS = 4000;
/** Reorder window: chunks further ahead than this many sequence numbers slide the window. */
export const LIVE_MAX_PENDING_CHUNKS = 120;
/** Consecutive missing media after which the output prebuffers again. */
export const LIVE_REBUFFER_AFTER_GAP_MS = 5000;
/** Released (seq, deadline) pairs kept to answer playheadSeq(). */
const TIMELINE_LOG_ENTRIES = 512;

/**
 * The in-order feed a LiveOutput pushes: strictly increasing seqs, onGap for each one skipped
 * (after a jump longer than the reorder window, only for the last seq of the jump).
 */
export interface ChunkFeed {
  /** `mediaMs`: how many milliseconds of media the chunk carries. */
  onChunk(seq: number, mediaMs: number, data: Uint8Array): void;
  onGap(seq: number): void;
  /** The channel ended (LiveOutput.end()) and everything before was handed over. */
  onEnd?(): void;
}

export interface LiveOutputOptions {
  prebufferMs?: number;
  playerBufferMs?: number;
  maxPendingChunks?: number;
  nominalChunkMs?: number;
  rebufferAfterGapMs?: number;
  clock?: Clock;
  /** Recoverable trouble (a feed threw, the window slid). */
  onWarning?: (w: { code: string; message: string }) => void;
}

export type LiveOutputState = 'buffering' | 'playing' | 'ended' | 'closed';

export interface LiveOutputStats {
  state: LiveOutputState;
  /** Chunks whose turn came since the first playback start (handed over or skipped). */
  chunksDue: number;
  /** Of those, handed over before their deadline. */
  chunksOnTime: number;
  /** chunksOnTime ÷ chunksDue; null ("not yet playing") while nothing was due. */
  continuityIndex: number | null;
  /** Sequence numbers skipped (deadline passed, skipped by the node, window slid). */
  discontinuities: number;
  /** Chunks that arrived after their turn and were dropped. */
  lateChunks: number;
  skippedByNode: number;
  duplicateChunks: number;
  rebuffers: number;
  bytesOut: number;
  mediaMsOut: number;
  /** Construction → first chunk handed over (the startup delay on the node's side). */
  firstReleaseMs: number | undefined;
  pendingChunks: number;
  pendingBytes: number;
}

type Slot = { kind: 'chunk'; durationMs: number; data: Uint8Array; arrivedAt: number } | { kind: 'skip' };

export class LiveOutput {
  private readonly feeds = new Set<ChunkFeed>();
  private readonly pending = new Map<number, Slot>();
  private readonly log: { seq: number; deadline: number }[] = [];
  private readonly clock: Clock;
  private readonly bucket: TokenBucket;
  private readonly prebuffer: number;
  private readonly maxPending: number;
  private readonly rebufferAfterGapMs: number;
  private readonly createdAt: number;
  private state: LiveOutputState = 'buffering';
  private cursor: number | undefined;
  private started = false;
  private endSeq: number | undefined;
  private highestSeq = -1;
  private t0 = 0;
  private mediaPos = 0;
  private gapRunMs = 0;
  private lastDurationMs: number;
  private timer: NodeJS.Timeout | undefined;
  private pendingBytes = 0;
  private firstReleaseAt: number | undefined;
  private readonly counters = { due: 0, onTime: 0, gaps: 0, late: 0, skipped: 0, dup: 0, rebuffers: 0, bytes: 0, media: 0 };

  constructor(private readonly opts: LiveOutputOptions = {}) {
    this.clock = opts.clock ?? { now: () => Date.now() };
    this.prebuffer = opts.prebufferMs ?? DEFAULT_LIVE_CONFIG.prebufferMs;
    const capacity = opts.playerBufferMs ?? LIVE_PLAYER_BUFFER_MS;
    if (!(this.prebuffer >= 0)) throw new RangeError(`prebufferMs must be >= 0, got ${this.prebuffer}`);
    if (!(capacity >= this.prebuffer && capacity > 0)) {
      throw new RangeError(`playerBufferMs (${capacity}) must be positive and at least prebufferMs (${this.prebuffer})`);
    }
    this.maxPending = opts.maxPendingChunks ?? LIVE_MAX_PENDING_CHUNKS;
    if (!(Number.isInteger(this.maxPending) && this.maxPending > 0)) throw new RangeError(`maxPendingChunks must be a positive integer, got ${this.maxPending}`);
    this.rebufferAfterGapMs = opts.rebufferAfterGapMs ?? LIVE_REBUFFER_AFTER_GAP_MS;
    this.lastDurationMs = opts.nominalChunkMs ?? DEFAULT_LIVE_CONFIG.chunkMs;
    this.bucket = new TokenBucket({ ratePerSec: 1000, capacity, clock: this.clock });
    this.createdAt = this.clock.now();
  }

  /** Media the output buffers before it starts; clients use the same amount. */
  get prebufferMs(): number {
    return this.prebuffer;
  }

  /** Adds a feed; returns a function that removes it. Feeds added late get chunks from then on. */
  subscribe(feed: ChunkFeed): () => void {
    this.feeds.add(feed);
    return () => this.feeds.delete(feed);
  }

  /** A verified chunk arrived. `data` is kept by reference until it is handed over. */
  push(seq: number, durationMs: number, data: Uint8Array): void {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`chunk seq must be a non-negative integer, got ${seq}`);
    if (!(durationMs > 0) || !Number.isFinite(durationMs)) throw new RangeError(`chunk ${seq}: duration must be a positive number of ms, got ${durationMs}`);
    if (this.state === 'ended' || this.state === 'closed') return;
    if (this.endSeq !== undefined && seq >= this.endSeq) return;
    if (!this.admit(seq)) return;
    const had = this.pending.get(seq);
    if (had?.kind === 'chunk') {
      this.counters.dup++;
      return;
    }
    this.pending.set(seq, { kind: 'chunk', durationMs, data, arrivedAt: this.clock.now() });
    this.pendingBytes += data.byteLength;
    this.pump();
  }

  /** The node gave up on `seq` (or the source never made it): skip it without waiting for its deadline. */
  skip(seq: number): void {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`chunk seq must be a non-negative integer, got ${seq}`);
    if (this.state === 'ended' || this.state === 'closed') return;
    if (this.endSeq !== undefined && seq >= this.endSeq) return;
    if (!this.admit(seq) || this.pending.has(seq)) return;
    this.pending.set(seq, { kind: 'skip' });
    this.pump();
  }

  /** No more chunks will come: hand over what is due, then the feeds get onEnd. */
  end(): void {
    if (this.state === 'ended' || this.state === 'closed' || this.endSeq !== undefined) return;
    this.endSeq = Math.max(this.highestSeq + 1, this.cursor ?? 0);
    this.pump();
  }

  /** Stops at once: timers cleared, pending chunks dropped, feeds not told. */
  close(): void {
    this.state = 'closed';
    this.clearTimer();
    this.pending.clear();
    this.pendingBytes = 0;
    this.feeds.clear();
  }

  /** The chunk an ideal player would be showing now (undefined before anything was handed over). */
  playheadSeq(): number | undefined {
    const now = this.clock.now();
    for (let i = this.log.length - 1; i >= 0; i--) {
      const e = this.log[i]!;
      if (e.deadline <= now) return e.seq;
    }
    return this.log[0]?.seq;
  }

  stats(): LiveOutputStats {
    const c = this.counters;
    return {
      state: this.state,
      chunksDue: c.due,
      chunksOnTime: c.onTime,
      continuityIndex: c.due === 0 ? null : c.onTime / c.due,
      discontinuities: c.gaps,
      lateChunks: c.late,
      skippedByNode: c.skipped,
      duplicateChunks: c.dup,
      rebuffers: c.rebuffers,
      bytesOut: c.bytes,
      mediaMsOut: c.media,
      firstReleaseMs: this.firstReleaseAt === undefined ? undefined : this.firstReleaseAt - this.createdAt,
      pendingChunks: this.pending.size,
      pendingBytes: this.pendingBytes,
    };
  }

  /** Places `seq` relative to the cursor; false when it must be dropped (its turn is over). */
  private admit(seq: number): boolean {
    this.highestSeq = Math.max(this.highestSeq, seq);
    if (this.cursor === undefined) this.cursor = seq;
    if (seq < this.cursor) {
      if (this.started) {
        this.counters.late++;
        return false;
      }
      this.cursor = seq; // before the first start, the earliest chunk seen opens the channel
      for (const s of [...this.pending.keys()]) if (s >= seq + this.maxPending) this.drop(s);
    }
    if (seq >= this.cursor + this.maxPending) this.slideTo(seq - this.maxPending + 1);
    return true;
  }

  /**
   * Moves the cursor forward to `target`, skipping everything before it. Before the first start
   * nothing was due, so nothing counts. A jump longer than the window is reported to the feeds as
   * one gap (its last seq) but counted in full.
   */
  private slideTo(target: number): void {
    const from = this.cursor!;
    this.warn('window-slid', `chunk ${target + this.maxPending - 1} is ${this.maxPending} or more chunks ahead of ${from}; skipping to ${target}`);
    const n = target - from;
    if (!this.started || n > this.maxPending) {
      for (const s of [...this.pending.keys()]) if (s < target) this.drop(s);
    }
    if (!this.started) {
      this.cursor = target;
      return;
    }
    if (n > this.maxPending) {
      this.counters.due += n - 1;
      this.counters.gaps += n - 1;
      this.gap(target - 1, false);
    } else {
      for (let s = from; s < target; s++) this.gap(s, false);
    }
    if (this.state === 'playing') this.rebuffer();
  }

  private pump(): void {
    if (this.state === 'closed' || this.state === 'ended') return;
    this.clearTimer();
    if (this.state === 'buffering' && !this.tryStart()) return;
    let wake: number | undefined;
    while (this.state === 'playing') {
      const seq = this.cursor!;
      if (this.endSeq !== undefined && seq >= this.endSeq) {
        this.finish();
        return;
      }
      const slot = this.pending.get(seq);
      const deadline = this.t0 + this.mediaPos;
      const now = this.clock.now();
      if (slot?.kind === 'skip') {
        this.counters.skipped++;
        this.gap(seq, false);
      } else if (slot?.kind === 'chunk') {
        if (slot.arrivedAt > deadline) {
          this.counters.late++;
          this.gap(seq, false);
        } else if (this.bucket.tryTake(slot.durationMs)) {
          this.release(seq, slot, deadline);
        } else if (now >= deadline) {
          // By its deadline the player has played everything before: its buffer has room.
          this.bucket.forceTake(slot.durationMs);
          this.release(seq, slot, deadline);
        } else {
          wake = Math.min(this.bucket.msUntil(slot.durationMs), deadline - now);
          break;
        }
      } else if (now > deadline) {
        this.gap(seq, true);
      } else {
        wake = deadline - now + 1;
        break;
      }
    }
    if (wake !== undefined) this.timer = setTimeout(() => this.pump(), Math.max(1, wake));
  }

  /** In buffering state: starts playing when enough contiguous media is here. */
  private tryStart(): boolean {
    if (this.cursor === undefined || (this.endSeq !== undefined && this.pending.size === 0)) return this.endIfDone();
    let from = this.cursor;
    if (this.started && !this.pending.has(from)) {
      // Rebuffering after a stall: begin at the first chunk that is here.
      const here = [...this.pending.keys()].filter((s) => s > from);
      if (here.length === 0) return this.endIfDone();
      from = Math.min(...here);
    }
    let run = 0;
    let s = from;
    for (;;) {
      const slot = this.pending.get(s);
      if (!slot) break;
      if (slot.kind === 'chunk') run += slot.durationMs;
      s++;
    }
    // Once the channel ended, what is here is all there will be: play it without a full prebuffer.
    if (run < this.prebuffer && this.endSeq === undefined) return false;
    for (let g = this.cursor; g < from; g++) this.gap(g, false);
    this.cursor = from;
    this.state = 'playing';
    this.started = true;
    this.t0 = this.clock.now();
    this.mediaPos = 0;
    this.gapRunMs = 0;
    this.bucket.reset();
    return true;
  }

  private endIfDone(): boolean {
    if (this.endSeq !== undefined) this.finish();
    return false;
  }

  private release(seq: number, slot: Slot & { kind: 'chunk' }, deadline: number): void {
    const now = this.clock.now();
    this.firstReleaseAt ??= now;
    this.drop(seq);
    this.cursor = seq + 1;
    this.counters.due++;
    this.counters.onTime++;
    this.counters.bytes += slot.data.byteLength;
    this.counters.media += slot.durationMs;
    this.mediaPos += slot.durationMs;
    this.lastDurationMs = slot.durationMs;
    this.gapRunMs = 0;
    this.record(seq, deadline);
    for (const f of [...this.feeds]) this.call(() => f.onChunk(seq, slot.durationMs, slot.data));
  }

  /** Skips `seq`. `starving`: it was missing at its deadline (counts towards a rebuffer). */
  private gap(seq: number, starving: boolean): void {
    const deadline = this.t0 + this.mediaPos;
    this.drop(seq);
    this.cursor = seq + 1;
    this.counters.due++;
    this.counters.gaps++;
    if (this.state === 'playing') this.mediaPos += this.lastDurationMs;
    this.record(seq, deadline);
    for (const f of [...this.feeds]) this.call(() => f.onGap(seq));
    if (!starving) return;
    this.gapRunMs += this.lastDurationMs;
    if (this.gapRunMs >= this.rebufferAfterGapMs) this.rebuffer();
  }

  private rebuffer(): void {
    this.state = 'buffering';
    this.counters.rebuffers++;
    this.gapRunMs = 0;
  }

  private finish(): void {
    this.state = 'ended';
    this.clearTimer();
    for (const f of [...this.feeds]) this.call(() => f.onEnd?.());
  }

  private drop(seq: number): void {
    const slot = this.pending.get(seq);
    if (!slot) return;
    if (slot.kind === 'chunk') this.pendingBytes -= slot.data.byteLength;
    this.pending.delete(seq);
  }

  private record(seq: number, deadline: number): void {
    this.log.push({ seq, deadline });
    if (this.log.length > TIMELINE_LOG_ENTRIES) this.log.splice(0, this.log.length - TIMELINE_LOG_ENTRIES);
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.warn('feed-failed', `a live output feed threw: ${(err as Error).message}`);
    }
  }

  private warn(code: string, message: string): void {
    this.opts.onWarning?.({ code, message });
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
