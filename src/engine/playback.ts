// A viewer's playhead over one live content (DONet's playback model; continuity as
// docs/live-sim.md defines it):
//  - the join point (firstId) is chosen by the caller; nextId is the next chunk to hand to the player;
//  - a chunk is handed over (ready) as soon as it is held and contiguous from the playhead;
//  - playback starts once the prebuffer (ceil(prebufferMs / chunkMs) chunks from firstId) has been
//    handed over, or prebufferMs after the first chunk was, whichever comes first;
//  - deadline(id) = playStart + (id − firstId) × chunkMs; a chunk still missing at its deadline is
//    skipped and the playhead moves on (one stall per run of skips) — unless (rebuffer enabled) it
//    cannot arrive yet (not in flight, and newer than every partner's newest chunk): playback is
//    ahead of what exists around us, there is nothing to skip to, and the player waits like any
//    player on an empty buffer: the schedule (playStart) moves later, counted as a rebuffer (and a
//    stall), and the lag grows to what the swarm can deliver;
//  - after a skip (a miss although the chunk existed) playback may wait lagStepMs more, so the lag
//    adapts when the swarm is slower than it was at join (up to maxExtraLagMs in total);
//  - a playhead that fell behind every partner's window (nothing it needs exists around it any
//    more) jumps forward (jumpTo): the chunks jumped over count as skipped, and the new position
//    gets a fresh prebuffer;
//  - continuity = chunks on time / chunks due, counting every id whose deadline has passed since
//    playback started. A handed-over chunk is on time by construction (later it would be skipped).
//    Until a chunk was due it is null ("not yet playing"), never a perfect 1.
// Pure: the caller passes the time and a view of the buffer; events go out through callbacks.
import type { ChunkRecord } from './chunk-buffer.js';

export interface PlaybackOptions {
  chunkMs: number;
  prebufferMs: number;
  /** Wait instead of skipping when nothing around us has the chunk yet (see above). */
  rebuffer?: boolean;
  /** After a skip, playback also waits this long (the lag grows after each miss); 0 = never. */
  lagStepMs?: number;
  /** Total extra lag lagStepMs may add. */
  maxExtraLagMs?: number;
}

export interface PlaybackSink {
  ready(chunk: ChunkRecord, now: number): void;
  skipped(chunkId: number): void;
  started(firstId: number): void;
}

/** Whether a missing chunk can still come (in flight, or not newer than what partners have). */
export type CanArrive = (id: number) => boolean;

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
  /** Waits for chunks nobody had yet (episodes, and total time the schedule moved). */
  rebuffers = 0;
  rebufferMs = 0;
  /** Lag added by lagStepMs so far. */
  extraLagMs = 0;
  private dueCursor = 0;
  private lastWasSkip = false;
  private rebuffering = false;
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

  /** Chunks on time ÷ chunks due; null ("not yet playing") until a chunk was due. */
  get continuityIndex(): number | null {
    return this.chunksDue === 0 ? null : this.chunksOnTime / this.chunksDue;
  }

  /** When `id` is due on screen; undefined until playback started (the player follows this clock). */
  dueAt(id: number): number | undefined {
    if (this.playStart === undefined || this.firstId === undefined) return undefined;
    return this.playStart + (id - this.firstId) * this.opts.chunkMs;
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
  advance(now: number, get: (id: number) => ChunkRecord | undefined, sink: PlaybackSink, canArrive?: CanArrive): void {
    if (this.nextId === undefined || this.firstId === undefined) return;
    for (;;) {
      const chunk = get(this.nextId);
      if (chunk) {
        this.nextId++;
        this.lastWasSkip = false;
        this.rebuffering = false;
        this.firstReadyAt ??= now;
        sink.ready(chunk, now);
        if (this.playStart === undefined && this.nextId - this.firstId >= this.prebufferChunks) this.start(now, sink);
        continue;
      }
      if (this.playStart === undefined && this.firstReadyAt !== undefined && now >= this.firstReadyAt + this.opts.prebufferMs) {
        this.start(now, sink);
      }
      if (this.playStart === undefined || now < this.deadline(this.nextId, now)) break;
      if (this.opts.rebuffer && canArrive && !canArrive(this.nextId)) {
        // Nothing to skip to: wait, moving the schedule so this chunk is due now.
        const late = now - this.deadline(this.nextId, now);
        this.playStart += late;
        this.rebufferMs += late;
        if (!this.rebuffering) {
          this.rebuffers++;
          this.stalls++;
        }
        this.rebuffering = true;
        break;
      }
      const id = this.nextId++;
      this.chunksSkipped++;
      // Its deadline has passed, and so has every earlier one: count them due now, before growLag()
      // moves the schedule later (which would otherwise hide this skip from chunksDue).
      while (this.dueCursor <= id) {
        this.dueCursor++;
        this.chunksDue++;
      }
      if (!this.lastWasSkip) {
        this.stalls++;
        this.growLag();
      }
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

  /**
   * Jumps the playhead forward to `id` (fell behind what partners still hold): the ids jumped over
   * count as due and skipped (one stall), and `id` becomes due prebufferMs from now.
   */
  jumpTo(id: number, now: number): number {
    if (this.nextId === undefined || this.firstId === undefined || this.playStart === undefined || id <= this.nextId) return 0;
    const jumped = id - this.nextId;
    this.chunksSkipped += jumped;
    this.chunksDue += id - this.dueCursor;
    this.stalls++;
    this.nextId = id;
    this.dueCursor = id;
    this.playStart = now + this.opts.prebufferMs - (id - this.firstId) * this.opts.chunkMs;
    this.lastWasSkip = true;
    return jumped;
  }

  /** A miss: later chunks get lagStepMs more slack (a short wait the player shows as a rebuffer). */
  private growLag(): void {
    const step = Math.min(this.opts.lagStepMs ?? 0, (this.opts.maxExtraLagMs ?? Infinity) - this.extraLagMs);
    if (step <= 0 || this.playStart === undefined) return;
    this.playStart += step;
    this.extraLagMs += step;
    this.rebufferMs += step;
    this.rebuffers++;
  }

  private start(now: number, sink: PlaybackSink): void {
    this.playStart = now;
    sink.started(this.firstId as number);
  }
}
