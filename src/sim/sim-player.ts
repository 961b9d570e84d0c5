// A simulated mpv playing a download while it downloads (the simulator's VoD viewer), read the way
// the box's loopback stream server feeds the real one (player/vod-session.ts): mpv reads the film's
// first headBytes (its stream probe), then the last tailBytes (an MPEG-TS film's duration), then
// plays from the start; its demuxer reads ahead as far as the pieces held allow (its cache is far
// larger than a film's pieces in flight), and it pauses for its cache when what it shows reaches
// what it read, until it holds pauseWaitMs of media again (mpv's cache-pause-wait). The box's side
// is modelled too: every piece read moves the download's playback window (setPlayhead), with the
// rate known once the duration is (polled every pollMs) and the media buffered as last polled.
// Counts what the VoD benchmark counts: play → first frame, then stalls over watchMs.
import type { Clock } from '../engine/ports.js';

/** The download as the player sees it. */
export interface SimPlayerSource {
  /** File size, or undefined while the manifest is unknown. */
  sizeBytes(): number | undefined;
  pieceBytes(): number | undefined;
  has(piece: number): boolean;
  setPlayhead(piece: number, rateBps: number, aheadMs?: number): void;
}

export interface SimPlayerOptions {
  /** Bytes per second of media (the film's size ÷ its duration). */
  mediaBytesPerS: number;
  /** What mpv reads from the start before it plays (its probe). */
  headBytes: number;
  /** The file's last bytes mpv reads before it plays (0: none). */
  tailBytes: number;
  /** Media held before a stall ends (mpv's cache-pause-wait). */
  pauseWaitMs: number;
  /** How often the box asks mpv for the duration and its cache. */
  pollMs: number;
  /** Stalls are counted for this long after the first frame. */
  watchMs: number;
  /** Time from the last byte of the probe to the first frame (demuxer and decoder start). */
  frameDelayMs: number;
  /** Media mpv holds before its first frame (mpv's cache-pause-initial with cache-pause-wait; 0: none). */
  startBufferMs?: number;
  /**
   * The box tells mpv the duration (player/told-duration.ts): the rate is known from the start, and
   * the tail read stands for the box's own read of the file's end (tailBytes 65,536).
   */
  toldDuration?: boolean;
}

export const DEFAULT_SIM_PLAYER: Readonly<Omit<SimPlayerOptions, 'mediaBytesPerS'>> = Object.freeze({
  headBytes: 256 * 1024,
  tailBytes: 250_000,
  pauseWaitMs: 1000,
  pollMs: 500,
  watchMs: 60_000,
  frameDelayMs: 50,
});

/** What one viewer saw. */
export interface SimViewerResult {
  firstFrameMs: number | null;
  stalls: number;
  stallMs: number;
  /** Each stall: ms from the first frame to its start, and its length (ms). */
  stallsAt: Array<[number, number]>;
  /** The piece each stall waited for. */
  stallPieces: number[];
}

type Phase = 'head' | 'tail' | 'frame' | 'playing';

export class SimPlayer {
  private phase: Phase = 'head';
  private readonly startedAt: number;
  /** Next byte mpv reads (in the current phase's range). */
  private readPos = 0;
  /** Bytes of media shown so far (playing), and when that was last brought up to date. */
  private shown = 0;
  private shownAt = 0;
  private stalledAt: number | undefined;
  private firstFrameAt: number | undefined;
  private durationKnown = false;
  /** The box has asked mpv for the duration since mpv knew it. */
  private durationPolled = false;
  private polledAhead: { ms: number; at: number } | undefined;
  private lastPiece = -1;
  private firstByteAt: number | undefined;
  private readonly result: SimViewerResult = { firstFrameMs: null, stalls: 0, stallMs: 0, stallsAt: [], stallPieces: [] };

  constructor(
    private readonly clock: Clock,
    private readonly src: SimPlayerSource,
    private readonly o: SimPlayerOptions,
  ) {
    this.startedAt = clock.now();
    if (o.toldDuration) this.durationKnown = this.durationPolled = true;
  }

  /** The box's play: the download's window starts at the file's start (vod-node.ts). */
  start(): void {
    this.src.setPlayhead(0, 0);
  }

  /** A piece arrived, or time passed: read on, play on. */
  step(): void {
    const now = this.clock.now();
    const size = this.src.sizeBytes();
    const pieceBytes = this.src.pieceBytes();
    if (size === undefined || pieceBytes === undefined) return;
    this.play(now);
    if (this.phase === 'head') {
      this.read(Math.min(size, this.o.headBytes), pieceBytes, now);
      if (this.readPos >= Math.min(size, this.o.headBytes)) {
        this.phase = 'tail';
        this.readPos = Math.max(this.readPos, size - this.o.tailBytes);
      }
    }
    if (this.phase === 'tail') {
      this.read(size, pieceBytes, now);
      if (this.readPos >= size) {
        this.phase = 'frame';
        this.durationKnown = true;
        this.readPos = Math.min(size, this.o.headBytes);
        this.lastPiece = -1;
        this.firstFrameAt = now + this.o.frameDelayMs;
      }
    }
    if (this.phase === 'frame' && now >= (this.firstFrameAt as number) && this.startBuffered(size, pieceBytes, now)) {
      this.phase = 'playing';
      this.result.firstFrameMs = (this.firstFrameAt as number) - this.startedAt;
      this.shownAt = now;
    }
    if (this.phase === 'playing' || this.phase === 'frame') this.read(size, pieceBytes, now);
    this.play(now);
  }

  /** With startBufferMs: reads on until it holds that much media (the first frame waits for it). */
  private startBuffered(size: number, pieceBytes: number, now: number): boolean {
    const want = this.o.startBufferMs ?? 0;
    if (want <= 0) return true;
    this.read(size, pieceBytes, now);
    if ((this.readPos * 1000) / this.o.mediaBytesPerS < want && this.readPos < size) return false;
    this.firstFrameAt = now;
    return true;
  }

  /** The box's poll of mpv: the duration (once read) and the media in its cache. */
  poll(): void {
    const now = this.clock.now();
    if (this.durationKnown) this.durationPolled = true;
    if (this.phase !== 'playing') return;
    this.polledAhead = { ms: this.bufferedMs(), at: now };
    if (this.lastPiece >= 0) this.src.setPlayhead(this.lastPiece, this.rateBps(now), this.aheadMs(now));
  }

  get results(): SimViewerResult {
    const r = this.result;
    const now = this.clock.now();
    const copy = { ...r, stallsAt: [...r.stallsAt], stallPieces: [...r.stallPieces] };
    if (this.stalledAt === undefined || this.firstFrameAt === undefined) return copy;
    const open = Math.min(now, this.firstFrameAt + this.o.watchMs) - this.stalledAt;
    return { ...copy, stallMs: r.stallMs + Math.max(0, open) };
  }

  private read(end: number, pieceBytes: number, now: number): void {
    while (this.readPos < end) {
      const piece = Math.floor(this.readPos / pieceBytes);
      if (piece !== this.lastPiece) {
        // the stream server's read hook: the window follows what the player reads
        this.lastPiece = piece;
        this.src.setPlayhead(piece, this.rateBps(now), this.aheadMs(now));
      }
      if (!this.src.has(piece)) return;
      this.firstByteAt ??= now;
      this.readPos = Math.min(end, (piece + 1) * pieceBytes);
    }
  }

  /** Shows media up to what was read; pauses when it runs out, resumes with pauseWaitMs in hand. */
  private play(now: number): void {
    if (this.phase !== 'playing') return;
    const rate = this.o.mediaBytesPerS;
    if (this.stalledAt === undefined) {
      const can = this.shown + ((now - this.shownAt) * rate) / 1000;
      if (can >= this.readPos) {
        // ran dry when shown reached readPos
        const dryAt = this.shownAt + ((this.readPos - this.shown) * 1000) / rate;
        this.shown = this.readPos;
        this.shownAt = now;
        if (this.readPos < (this.src.sizeBytes() ?? 0)) this.stall(dryAt);
      } else {
        this.shown = can;
        this.shownAt = now;
      }
    } else if (((this.readPos - this.shown) * 1000) / rate >= this.o.pauseWaitMs || this.readPos >= (this.src.sizeBytes() ?? 0)) {
      this.unstall(now);
    }
  }

  private stall(at: number): void {
    this.stalledAt = at;
    if (this.firstFrameAt !== undefined && at < this.firstFrameAt + this.o.watchMs) {
      this.result.stalls++;
      this.result.stallPieces.push(Math.floor(this.readPos / (this.src.pieceBytes() ?? 1)));
    }
  }

  private unstall(now: number): void {
    const from = this.stalledAt as number;
    this.stalledAt = undefined;
    this.shownAt = now;
    const ff = this.firstFrameAt as number;
    const end = Math.min(now, ff + this.o.watchMs);
    if (from < ff + this.o.watchMs) {
      this.result.stallMs += end - from;
      this.result.stallsAt.push([from - ff, now - from]);
    }
  }

  private bufferedMs(): number {
    return Math.max(0, ((this.readPos - this.shown) * 1000) / this.o.mediaBytesPerS);
  }

  /** The box's rate: size ÷ duration once mpv knows it (first poll after the probe), else bytes served per second. */
  private rateBps(now: number): number {
    if (this.durationPolled) return this.o.mediaBytesPerS;
    if (this.firstByteAt === undefined || now - this.firstByteAt < 1000) return 0;
    return (this.readPos * 1000) / (now - this.firstByteAt);
  }

  private aheadMs(now: number): number | undefined {
    if (!this.polledAhead) return undefined;
    return Math.max(0, this.polledAhead.ms - (now - this.polledAhead.at));
  }
}
