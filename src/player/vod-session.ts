// A file on the TV on demand (a download while it downloads, a protected file through the DRM
// agent): served as /file/<name> on the loopback stream server with byte ranges (range-response.ts),
// played by mpv, which seeks with new range requests. Measures what a viewer feels: startup delay
// (play → first byte served, play → first frame), stalls (mpv paused for its cache after the first
// frame) and their time, and whether a read waits for a piece this box does not hold yet
// (`buffering`). The rate the player consumes (the file's size ÷ its duration once mpv knows it,
// else the bytes served per second) sizes the download's playback window. The media mpv holds
// ahead of what it shows (its demuxer cache, polled every CACHE_POLL_MS while it plays) tells the
// download how long it has before the piece the player reads is needed (onPlayhead's aheadMs).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../platform/logger.js';
import { readRange, type ByteSource, type PieceReadHooks } from './byte-source.js';
import type { MpvPlayer } from './mpv-process.js';
import { serveRange } from './range-response.js';
import { edlOfWhole, mpegTsDurationS, NO_DURATION_PROBE } from './told-duration.js';
import type { StreamServer } from './stream-server.js';

export interface VodStats {
  contentId: string;
  name: string;
  url: string | null;
  /**
   * starting: nothing shown yet; buffering: a read waits for a missing piece or mpv waits for its
   * cache; ended: mpv reached the end (of the preview, for a protected file without rights).
   */
  state: 'starting' | 'playing' | 'buffering' | 'ended';
  /** play → first byte served to the player, play → first frame (ms; null until then). */
  firstByteMs: number | null;
  firstFrameMs: number | null;
  /**
   * Stalls after the first frame (mpv paused for its cache; without a player, reads that waited)
   * and their time — not counting the wait right after a seek, which `seeks`/`seekWaitMs` count.
   */
  stalls: number;
  stallMs: number;
  /** Seeks (range requests after the first frame) and the time until mpv played again after them (its restart, then any pause for its cache). */
  seeks: number;
  seekWaitMs: number;
  /** Reads that waited for a piece not held yet, their time, and the piece waited for now. */
  waits: number;
  waitMs: number;
  waitingForPiece: number | null;
  /** Range requests the player made (1 + seeks and probes). */
  requests: number;
  bytesServed: number;
  /** Bytes per second the player consumes (sizes the playback window). */
  rateBps: number;
  /** Media the player holds beyond what it shows (ms; null when not known). */
  bufferedMs: number | null;
}

/**
 * Tell mpv an MPEG-TS film's duration (told-duration.ts) so it starts without reading the file's
 * end: `durationS` when the manifest has it, else found from the film's two ends. `onTail` hears
 * how much of the end the player still reads first (undefined: as configured, when the duration is
 * not told).
 */
export interface TellDuration {
  durationS?: number;
  onTail: (bytes: number | undefined) => void;
}

export interface VodSessionOptions {
  server: StreamServer;
  player: MpvPlayer | undefined;
  contentId: string;
  /** Shown on the OSD; the URL path uses a tame form of it. */
  title: string;
  log: Logger;
  /**
   * The player reads in piece `index` at `rateBps` (moves the download's window), holding `aheadMs`
   * of media beyond what it shows (undefined: not known, e.g. without a player). Also called each
   * time the player's buffer is measured.
   */
  onPlayhead?: (index: number, rateBps: number, aheadMs: number | undefined) => void;
  /** Media (ms) held before the player is given the film, when its duration is told (0: none). */
  prebufferMs?: number;
  /** Longest the start is held (default PREBUFFER_MAX_MS): then the player gets the film with what is here. */
  prebufferMaxMs?: number;
  now?: () => number;
  /** When the play was asked for (default: now): the start figures (first byte, first frame) count from it. */
  requestedAt?: number;
}

/** Longest the film's start is held before the player gets it anyway. */
const PREBUFFER_MAX_MS = 8000;
/** How often mpv's duration (until known) and its buffered media are asked for. */
const CACHE_POLL_MS = 500;
/** mpv pausing for its cache this soon after a seek's range request is the seek's wait, not a stall. */
const SEEK_GRACE_MS = 3000;

export class VodSession {
  readonly startedAt: number;
  private readonly name: string;
  private url: string | null = null;
  private firstByteAt: number | undefined;
  private firstFrameAt: number | undefined;
  private stalls = 0;
  private stallMs = 0;
  private stalledSince: number | undefined;
  /** The current pause for the cache follows a seek. */
  private stallIsSeek = false;
  private lastSeekAt: number | undefined;
  /** A seek's range request waits for mpv's next playback restart. */
  private seekPendingSince: number | undefined;
  private seeks = 0;
  private seekWaitMs = 0;
  private waits = 0;
  private waitMs = 0;
  private readonly pending = new Map<number, number>();
  private nextWait = 0;
  private requests = 0;
  private bytesServed = 0;
  private durationS: number | undefined;
  /** mpv's media buffered ahead of what it shows, and when it was measured (none before the first frame or after a seek). */
  private ahead: { ms: number; at: number } | undefined;
  private lastReadPiece: number | undefined;
  private sizeBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly abort = new AbortController();
  private tell: TellDuration | undefined;
  private readonly offFrame: () => void;
  private readonly offStall: () => void;
  private readonly offEnd: () => void;
  private readonly offRestart: () => void;
  private ended = false;
  private readonly now: () => number;

  constructor(private readonly o: VodSessionOptions) {
    this.now = o.now ?? Date.now;
    this.startedAt = o.requestedAt ?? this.now();
    this.name = o.contentId.replace(/[^0-9A-Za-z_-]/g, '').slice(0, 64) || 'file';
    const onFrame = () => {
      if (this.firstFrameAt !== undefined || this.stopped) return;
      this.firstFrameAt = this.now();
      o.log.info({ contentId: o.contentId, firstFrameMs: this.firstFrameAt - this.startedAt }, 'first frame on the TV');
    };
    const onStall = (e: { stalled: boolean }) => this.onStall(e.stalled);
    o.player?.on('first-frame', onFrame);
    o.player?.on('stall', onStall);
    this.offFrame = () => o.player?.off('first-frame', onFrame);
    this.offStall = () => o.player?.off('stall', onStall);
    const onRestart = () => {
      if (this.seekPendingSince === undefined) return;
      this.seekWaitMs += this.now() - this.seekPendingSince;
      this.seekPendingSince = undefined;
    };
    o.player?.on('playback-restart', onRestart);
    this.offRestart = () => o.player?.off('playback-restart', onRestart);
    const onEnd = (e: { reason: string }) => {
      if (e.reason === 'eof' && this.firstFrameAt !== undefined) this.ended = true;
    };
    o.player?.on('end-file', onEnd);
    this.offEnd = () => o.player?.off('end-file', onEnd);
  }

  /** For the PieceByteSource under what is served: where the player reads, and its waits. */
  readonly hooks: PieceReadHooks = {
    reading: (index) => {
      this.lastReadPiece = index;
      this.o.onPlayhead?.(index, this.rateBps(), this.aheadMs());
    },
    waiting: (index) => {
      const id = this.nextWait++;
      const at = this.now();
      this.pending.set(id, index);
      this.waits++;
      if (!this.o.player && this.firstByteAt !== undefined) this.stalls++;
      return {
        done: () => {
          if (!this.pending.delete(id)) return;
          const ms = this.now() - at;
          this.waitMs += ms;
          if (!this.o.player && this.firstByteAt !== undefined) this.stallMs += ms;
        },
      };
    },
  };

  /** Serves `source` and has the player open it (told its duration with `tell`, when it can be). */
  async start(source: ByteSource, tell?: TellDuration): Promise<void> {
    this.tell = tell;
    this.sizeBytes = source.sizeBytes;
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      void serveRange(req, res, source, {
        onRequest: (start, end) => {
          this.requests++;
          if (this.firstFrameAt !== undefined) {
            this.ahead = undefined; // mpv drops its cache on a seek
            this.seeks++;
            this.lastSeekAt = this.now();
            this.seekPendingSince ??= this.lastSeekAt;
          }
          this.o.log.debug({ contentId: this.o.contentId, start, end, atMs: this.now() - this.startedAt }, 'player range request');
        },
        onBytes: (n) => {
          if (this.firstByteAt === undefined) {
            this.firstByteAt = this.now();
            this.o.log.info({ contentId: this.o.contentId, firstByteMs: this.firstByteAt - this.startedAt }, 'first byte to the player');
          }
          this.bytesServed += n;
        },
        onError: (err) => this.o.log.warn({ contentId: this.o.contentId, err: err.message }, `the player's stream ended early: ${err.message}`),
      });
    };
    this.url = this.o.server.addFile(this.name, handler);
    const player = this.o.player;
    if (!player) {
      // Whoever opens the URL finds the duration itself, reading the file's end.
      this.tell?.onTail(undefined);
      return;
    }
    const told = await this.toldDuration(source);
    if (this.stopped) return;
    if (told !== undefined) {
      this.durationS = told;
      if (!(await this.prebuffer(source, told))) return;
      await player.play(edlOfWhole(this.url, told), { ...NO_DURATION_PROBE });
    } else {
      this.tell?.onTail(undefined);
      await player.play(this.url);
    }
    await player.osd(`▶ ${this.o.title}`).catch(() => undefined);
    this.timer = setInterval(() => void this.poll(), CACHE_POLL_MS);
    this.timer.unref();
  }

  /**
   * Holds the film's first prebufferMs of media (at its size ÷ duration) before the player gets it:
   * a crowd starting together leaves a viewer that starts with a second in hand stalling a few
   * seconds later (docs/downloads.md). False when stopped meanwhile.
   */
  private async prebuffer(source: ByteSource, durationS: number): Promise<boolean> {
    const ms = this.o.prebufferMs ?? 0;
    const bytes = Math.min(source.sizeBytes, Math.round(((ms / 1000) * source.sizeBytes) / durationS));
    if (bytes <= 0) return true;
    // Held at most prebufferMaxMs: then mpv gets the film with what is here (and waits on its own).
    const hold = new AbortController();
    const stop = () => hold.abort();
    this.abort.signal.addEventListener('abort', stop, { once: true });
    const timer = setTimeout(stop, this.o.prebufferMaxMs ?? PREBUFFER_MAX_MS);
    try {
      await readRange(source, 0, bytes, hold.signal);
      this.o.log.info({ contentId: this.o.contentId, prebufferMs: ms, bytes, atMs: this.now() - this.startedAt }, 'start of the film held: playing');
    } catch (err) {
      if (this.stopped) return false;
      if (!hold.signal.aborted) throw err;
      this.o.log.warn({ contentId: this.o.contentId, prebufferMs: ms, bytes, atMs: this.now() - this.startedAt }, 'the start of the film did not all come in time: playing what is here');
    } finally {
      clearTimeout(timer);
      this.abort.signal.removeEventListener('abort', stop);
    }
    return !this.stopped;
  }

  /** The film's duration (the manifest's, else from its two ends), when asked to tell it and the film is MPEG-TS. */
  private async toldDuration(source: ByteSource): Promise<number | undefined> {
    if (!this.tell || source.contentType !== 'video/mp2t') return undefined;
    if (this.tell.durationS !== undefined) {
      this.o.log.info({ contentId: this.o.contentId, durationS: this.tell.durationS }, 'duration from the manifest told to the player');
      return this.tell.durationS;
    }
    try {
      const d = await mpegTsDurationS(source, this.abort.signal);
      this.o.log.info({ contentId: this.o.contentId, durationS: d ?? null, atMs: this.now() - this.startedAt }, d === undefined ? 'no duration from the film\'s ends: mpv reads its end' : 'duration told to the player');
      return d;
    } catch (err) {
      if (!this.stopped) this.o.log.warn({ contentId: this.o.contentId, err: (err as Error).message }, 'could not read the film\'s ends for its duration');
      return undefined;
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    clearInterval(this.timer);
    this.onStall(false);
    this.offFrame();
    this.offStall();
    this.offEnd();
    this.offRestart();
    this.o.server.removeFile(this.name);
    await this.o.player?.stop().catch(() => undefined);
  }

  /** Bytes per second the player consumes: size ÷ duration once mpv knows it, else served ÷ time since the first byte. */
  rateBps(): number {
    if (this.durationS && this.durationS > 0 && this.sizeBytes > 0) return this.sizeBytes / this.durationS;
    if (this.firstByteAt === undefined) return 0;
    const s = (this.now() - this.firstByteAt) / 1000;
    return s >= 1 ? this.bytesServed / s : 0;
  }

  stats(): VodStats {
    const now = this.now();
    const waiting = [...this.pending.values()];
    const stalled = this.stalledSince !== undefined;
    return {
      contentId: this.o.contentId,
      name: this.o.title,
      url: this.url,
      state: this.ended ? 'ended' : waiting.length > 0 || stalled ? 'buffering' : this.firstFrameAt !== undefined || (!this.o.player && this.firstByteAt !== undefined) ? 'playing' : 'starting',
      firstByteMs: this.firstByteAt === undefined ? null : this.firstByteAt - this.startedAt,
      firstFrameMs: this.firstFrameAt === undefined ? null : this.firstFrameAt - this.startedAt,
      stalls: this.stalls,
      stallMs: this.stallMs + (stalled && !this.stallIsSeek ? now - this.stalledSince! : 0),
      seeks: this.seeks,
      seekWaitMs: this.seekWaitMs + (stalled && this.stallIsSeek ? now - this.stalledSince! : 0),
      waits: this.waits,
      waitMs: this.waitMs,
      waitingForPiece: waiting.length > 0 ? Math.min(...waiting) : null,
      requests: this.requests,
      bytesServed: this.bytesServed,
      rateBps: Math.round(this.rateBps()),
      bufferedMs: this.aheadMs() ?? null,
    };
  }

  private onStall(stalled: boolean): void {
    const now = this.now();
    if (stalled && this.stalledSince === undefined && this.firstFrameAt !== undefined && !this.stopped) {
      this.stallIsSeek = this.lastSeekAt !== undefined && now - this.lastSeekAt < SEEK_GRACE_MS;
      if (!this.stallIsSeek) this.stalls++;
      this.stalledSince = now;
    } else if (!stalled && this.stalledSince !== undefined) {
      if (this.stallIsSeek) this.seekWaitMs += now - this.stalledSince;
      else this.stallMs += now - this.stalledSince;
      this.stalledSince = undefined;
    }
  }

  /** The media mpv holds beyond what it shows, now (its last measure less the time since; undefined when not known). */
  private aheadMs(): number | undefined {
    if (!this.ahead) return undefined;
    return Math.max(0, this.ahead.ms - (this.now() - this.ahead.at));
  }

  private async poll(): Promise<void> {
    const player = this.o.player;
    if (this.stopped || !player) return;
    if (this.durationS === undefined) {
      const d = await player.connection().getProperty('duration').catch(() => undefined);
      if (typeof d === 'number' && d > 0) this.durationS = d;
    }
    if (this.firstFrameAt === undefined || this.seekPendingSince !== undefined) return;
    const seeksBefore = this.seeks;
    const cached = await player.connection().getProperty('demuxer-cache-duration').catch(() => undefined);
    if (typeof cached !== 'number' || !Number.isFinite(cached) || cached < 0 || this.seeks !== seeksBefore || this.stopped) return;
    this.ahead = { ms: Math.round(cached * 1000), at: this.now() };
    if (this.lastReadPiece !== undefined) this.o.onPlayhead?.(this.lastReadPiece, this.rateBps(), this.aheadMs());
  }
}
