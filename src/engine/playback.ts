// A viewer's playhead over one live content (DONet's playback model, DESIGN §5):
//  - the join point (firstId) is chosen by the caller; nextId is the next chunk to hand to the player;
//  - a chunk is handed over (ready) as soon as it is held and contiguous from the playhead;
//  - playback starts once the prebuffer (ceil(prebufferMs / chunkMs) chunks from firstId) has been
//    handed over, or prebufferMs after the first chunk was, whichever comes first;
//  - deadline(id) = playStart + (id − firstId) × chunkMs; a chunk still missing at its deadline is
//    skipped and the playhead moves on (one stall per run of skips);
//  - continuity = chunks on time / chunks due, counting every id whose deadline has passed since
//    playback started. A handed-over chunk is on time by construction (later it would be skipped).
// Pure: the caller passes the time and a view of the buffer; events go out through callbacks.
import type { ChunkRecord } from './chunk-buffer.js';

export interface PlaybackOptions {
  chunkMs: number;
  prebufferMs: number;
}

export interface PlaybackSink {
  ready(chunk: ChunkRecord, now: number): void;
  skipped(chunkId: number): void;
  started(firstId: number): void;
}

export class Playback {
  /** Join point; undefined until chosen. */
  firstId: number | undefined;
  /** Next id to hand to the player; undefined until the join point is chosen. */
  nextId: number | undefined;
  playStart: number | undefined;
  firstReadyAt: number | undefined;
  joinedAt: number | undefined;
  chunksDue = 0;
  chunksSkipped = 0;
  stalls = 0;
  private dueCursor = 0;
  private lastWasSkip = false;
  private readonly prebufferChunks: number;

  constructor(private readonly opts: PlaybackOptions) {
    this.prebufferChunks = Math.max(1, Math.ceil(opts.prebufferMs / opts.chunkMs));
  }

  /** Sets (or, before anything was handed over, moves) the join point. */
  join(firstId: number, now: number): void {
    if (this.firstReadyAt !== undefined) return;
    this.firstId = firstId;
    this.nextId = firstId;
    this.dueCursor = firstId;
    this.joinedAt = now;
  }

  get started(): boolean {
    return this.playStart !== undefined;
  }

  get chunksOnTime(): number {
    return this.chunksDue - this.chunksSkipped;
  }

  get continuityIndex(): number {
    return this.chunksDue === 0 ? 1 : this.chunksOnTime / this.chunksDue;
  }

  /**
   * Playback deadline of an id. Before playback starts it is estimated: from the latest possible
   * start (first chunk + prebufferMs) once a chunk was handed over, and before that as if playback
   * started now — the join point's chunks are what startup waits for.
   */
  deadline(id: number, now: number): number {
    const first = this.firstId ?? id;
    const start = this.playStart ?? (this.firstReadyAt === undefined ? now : this.firstReadyAt + this.opts.prebufferMs);
    return start + (id - first) * this.opts.chunkMs;
  }

  /**
   * Moves the playhead: skips what is overdue, hands over what is contiguous, starts playback when
   * due, counts what became due. `get` reads our buffer.
   */
  advance(now: number, get: (id: number) => ChunkRecord | undefined, sink: PlaybackSink): void {
    if (this.nextId === undefined || this.firstId === undefined) return;
    for (;;) {
      const chunk = get(this.nextId);
      if (chunk) {
        this.nextId++;
        this.lastWasSkip = false;
        this.firstReadyAt ??= now;
        sink.ready(chunk, now);
        if (this.playStart === undefined && this.nextId - this.firstId >= this.prebufferChunks) this.start(now, sink);
        continue;
      }
      if (this.playStart === undefined && this.firstReadyAt !== undefined && now >= this.firstReadyAt + this.opts.prebufferMs) {
        this.start(now, sink);
      }
      if (this.playStart === undefined || now < this.deadline(this.nextId, now)) break;
      const id = this.nextId++;
      this.chunksSkipped++;
      if (!this.lastWasSkip) this.stalls++;
      this.lastWasSkip = true;
      sink.skipped(id);
    }
    if (this.playStart !== undefined) {
      while (this.dueCursor < this.nextId && this.deadline(this.dueCursor, now) <= now) {
        this.dueCursor++;
        this.chunksDue++;
      }
    }
  }

  private start(now: number, sink: PlaybackSink): void {
    this.playStart = now;
    sink.started(this.firstId as number);
  }
}
