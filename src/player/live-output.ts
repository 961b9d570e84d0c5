// The watched channel's pipe to the player. It keeps no clock of its own: the engine's playhead
// (engine/playback.ts) is the one playback clock — one prebuffer, one deadline rule, one continuity
// figure — and this output follows it:
//  - the node hands over chunks in id order as the playhead reaches them (push) and the ids the
//    playhead skipped (skip); an id passed over (the playhead jumped forward) is a gap too, and a
//    push or skip of an id already passed is dropped (counted late);
//  - nothing goes out before the clock starts (the engine's prebuffer is held; clockMoved() says
//    it did, or the output sees it within RECHECK_MS); from then on a
//    chunk goes to the feeds once its due time on the clock is at most `playerBufferMs` away. The
//    player therefore starts with the engine's prebuffer and holds at most that much media ahead
//    of the clock: a chunk on time for the engine is on time for the player, and when the engine
//    waits (a rebuffer) the player runs dry at the same moment;
//  - a skip goes out in its turn as a gap (feeds get onGap);
//  - end(): what is queued goes out in its turn (at once if the clock never started), then onEnd.
// The queue holds references to the engine's chunks; it is bounded by what the engine hands over,
// its window ahead of the playhead.
import type { Clock } from '../engine/ports.js';
import { DEFAULT_LIVE_CONFIG } from '../engine/live-config.js';

/** How far ahead of the playback clock the player may be fed; the default of player.bufferMs. */
export const LIVE_PLAYER_BUFFER_MS = 4000;
/** Released (seq, due time) pairs kept to answer playheadSeq(). */
const TIMELINE_LOG_ENTRIES = 512;
/** Longest wait between two looks at the clock (its schedule may move: a rebuffer, a jump). */
const RECHECK_MS = 250;

/** The playback clock the output follows: the engine's playhead over the watched channel. */
export interface PlaybackSchedule {
  /** When chunk `seq` is due on screen; undefined while playback has not started. */
  dueAt(seq: number): number | undefined;
}

/**
 * The in-order feed a LiveOutput pushes: strictly increasing seqs, onGap for each one skipped.
 */
export interface ChunkFeed {
  /** `mediaMs`: how many milliseconds of media the chunk carries. */
  onChunk(seq: number, mediaMs: number, data: Uint8Array): void;
  onGap(seq: number): void;
  /** The channel ended (LiveOutput.end()) and everything before was handed over. */
  onEnd?(): void;
}

export interface LiveOutputOptions {
  /** The clock to follow. */
  schedule: PlaybackSchedule;
  /** Media a new client of the stream waits for before its first byte (the engine's prebuffer). */
  prebufferMs?: number;
  playerBufferMs?: number;
  clock?: Clock;
  /** Recoverable trouble (a feed threw). */
  onWarning?: (w: { code: string; message: string }) => void;
}

export type LiveOutputState = 'waiting' | 'playing' | 'ended' | 'closed';

export interface LiveOutputStats {
  /** waiting: the clock has not started (the engine prebuffers). */
  state: LiveOutputState;
  chunksOut: number;
  /** Ids passed to the feeds as gaps (skipped by the playhead, jumped over). */
  discontinuities: number;
  /** Pushes or skips for an id already passed, dropped. */
  lateChunks: number;
  bytesOut: number;
  mediaMsOut: number;
  /** Construction → first chunk handed over (the startup delay on the node's side). */
  firstReleaseMs: number | undefined;
  pendingChunks: number;
  pendingBytes: number;
}

type Slot = { seq: number; durationMs: number; data: Uint8Array } | { seq: number; data?: undefined };

export class LiveOutput {
  private readonly feeds = new Set<ChunkFeed>();
  /** What the node handed over and the feeds have not had yet, in id order. */
  private readonly queue: Slot[] = [];
  private head = 0;
  private readonly log: { seq: number; due: number }[] = [];
  private readonly clock: Clock;
  private readonly prebuffer: number;
  private readonly playerBufferMs: number;
  private readonly createdAt: number;
  private state: LiveOutputState = 'waiting';
  /** The next id the queue expects (undefined before the first). */
  private expected: number | undefined;
  private ending = false;
  private timer: NodeJS.Timeout | undefined;
  private pendingBytes = 0;
  private firstReleaseAt: number | undefined;
  private readonly counters = { out: 0, gaps: 0, late: 0, bytes: 0, media: 0 };

  constructor(private readonly opts: LiveOutputOptions) {
    this.clock = opts.clock ?? { now: () => Date.now() };
    this.prebuffer = opts.prebufferMs ?? DEFAULT_LIVE_CONFIG.prebufferMs;
    this.playerBufferMs = opts.playerBufferMs ?? LIVE_PLAYER_BUFFER_MS;
    if (!(this.prebuffer >= 0)) throw new RangeError(`prebufferMs must be >= 0, got ${this.prebuffer}`);
    if (!(this.playerBufferMs > 0)) throw new RangeError(`playerBufferMs must be positive, got ${this.playerBufferMs}`);
    this.createdAt = this.clock.now();
  }

  /** Media a new client waits for before its first byte (the engine's prebuffer). */
  get prebufferMs(): number {
    return this.prebuffer;
  }

  /** Adds a feed; returns a function that removes it. Feeds added late get chunks from then on. */
  subscribe(feed: ChunkFeed): () => void {
    this.feeds.add(feed);
    return () => this.feeds.delete(feed);
  }

  /** The playhead reached a chunk. `data` is kept by reference until it is handed over. */
  push(seq: number, durationMs: number, data: Uint8Array): void {
    checkSeq(seq);
    if (!(durationMs > 0) || !Number.isFinite(durationMs)) throw new RangeError(`chunk ${seq}: duration must be a positive number of ms, got ${durationMs}`);
    if (!this.admit(seq)) return;
    this.queue.push({ seq, durationMs, data });
    this.pendingBytes += data.byteLength;
    this.pump();
  }

  /** The playhead skipped `seq` (missing at its deadline, or not playable here). */
  skip(seq: number): void {
    checkSeq(seq);
    if (!this.admit(seq)) return;
    this.queue.push({ seq });
    this.pump();
  }

  /** The clock started (or moved): look at what is due now rather than at the next check. */
  clockMoved(): void {
    this.pump();
  }

  /** No more chunks will come: what is queued goes out in its turn, then the feeds get onEnd. */
  end(): void {
    if (this.state === 'ended' || this.state === 'closed') return;
    this.ending = true;
    this.pump();
  }

  /** Stops at once: timers cleared, queued chunks dropped, feeds not told. */
  close(): void {
    this.state = 'closed';
    this.clearTimer();
    this.queue.length = 0;
    this.head = 0;
    this.pendingBytes = 0;
    this.feeds.clear();
  }

  /** The chunk the player shows now by the clock (undefined before anything was handed over). */
  playheadSeq(): number | undefined {
    const now = this.clock.now();
    for (let i = this.log.length - 1; i >= 0; i--) {
      const e = this.log[i]!;
      if (e.due <= now) return e.seq;
    }
    return this.log[0]?.seq;
  }

  stats(): LiveOutputStats {
    const c = this.counters;
    return {
      state: this.state,
      chunksOut: c.out,
      discontinuities: c.gaps,
      lateChunks: c.late,
      bytesOut: c.bytes,
      mediaMsOut: c.media,
      firstReleaseMs: this.firstReleaseAt === undefined ? undefined : this.firstReleaseAt - this.createdAt,
      pendingChunks: this.queue.length - this.head,
      pendingBytes: this.pendingBytes,
    };
  }

  /** Places `seq` after what is queued (ids passed over become gaps); false when it must be dropped. */
  private admit(seq: number): boolean {
    if (this.state === 'ended' || this.state === 'closed' || this.ending) return false;
    if (this.expected !== undefined && seq < this.expected) {
      this.counters.late++;
      return false;
    }
    if (this.expected !== undefined) for (let s = this.expected; s < seq; s++) this.queue.push({ seq: s });
    this.expected = seq + 1;
    return true;
  }

  private pump(): void {
    if (this.state === 'closed' || this.state === 'ended') return;
    this.clearTimer();
    const now = this.clock.now();
    let wake: number | undefined;
    while (this.head < this.queue.length) {
      const slot = this.queue[this.head]!;
      const due = this.opts.schedule.dueAt(slot.seq);
      if (due === undefined && !this.ending) {
        wake = RECHECK_MS;
        break;
      }
      if (due !== undefined) {
        this.state = 'playing';
        if (due - this.playerBufferMs > now) {
          wake = Math.min(RECHECK_MS, due - this.playerBufferMs - now);
          break;
        }
      }
      this.head++;
      this.release(slot, due ?? now);
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
      if (this.ending) return this.finish();
    } else if (this.head > 64) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (wake !== undefined) this.timer = setTimeout(() => this.pump(), Math.max(1, wake));
  }

  private release(slot: Slot, due: number): void {
    const { seq } = slot;
    this.log.push({ seq, due });
    if (this.log.length > TIMELINE_LOG_ENTRIES) this.log.splice(0, this.log.length - TIMELINE_LOG_ENTRIES);
    if (slot.data === undefined) {
      this.counters.gaps++;
      for (const f of [...this.feeds]) this.call(() => f.onGap(seq));
      return;
    }
    this.firstReleaseAt ??= this.clock.now();
    this.pendingBytes -= slot.data.byteLength;
    this.counters.out++;
    this.counters.bytes += slot.data.byteLength;
    this.counters.media += slot.durationMs;
    for (const f of [...this.feeds]) this.call(() => f.onChunk(seq, slot.durationMs, slot.data));
  }

  private finish(): void {
    this.state = 'ended';
    this.clearTimer();
    for (const f of [...this.feeds]) this.call(() => f.onEnd?.());
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

function checkSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`chunk seq must be a non-negative integer, got ${seq}`);
}
