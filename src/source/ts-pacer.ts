// Plays an MPEG-TS file out as a live source: reads it block by block, chunks it with TsChunker and
// releases each chunk when real time reaches the chunk's media end (a live source cannot publish a
// chunk before its last packet exists), following the stream's PCR. Clock and sleep are injected so
// tests drive it with a fake clock.
//
// Schedule: the anchor is (wall time when chunks() starts, media start of the first chunk); chunk c is
// due at anchor.wall + (c.mediaStartMs + c.durationMs − anchor.media). When the pacer finds itself
// more than maxLateMs behind (slow storage, a suspended process) it moves the anchor forward instead of
// bursting the backlog out, and warns.
//
// --loop: at the end of the file the chunker is told the input restarts (markDiscontinuity): chunk
// numbering continues, media time continues monotonically from the end of the last chunk (the chunker
// offsets the looped file's timestamps), and the first chunk of every new pass has discontinuity: true.
// Memory: one read block plus one pending chunk.

import { open } from 'node:fs/promises';
import { TsChunker, type SourceWarning, type TsChunk, type TsChunkerOptions } from './ts-chunker.js';

export const DEFAULT_READ_BLOCK_BYTES = 64 * 1024;
export const DEFAULT_MAX_LATE_MS = 2000;

export interface PacerClock {
  /** Milliseconds (wall clock in production). */
  now(): number;
}

export interface PacerWarning {
  code: 'source-late' | 'source-empty';
  message: string;
}

export interface TsPacerOptions {
  /** Opens one pass over the input; called again for every loop. */
  open: () => AsyncIterable<Uint8Array>;
  loop?: boolean;
  clock: PacerClock;
  sleep: (ms: number) => Promise<void>;
  chunker?: Omit<TsChunkerOptions, 'onWarning'>;
  maxLateMs?: number;
  signal?: AbortSignal;
  onWarning?: (w: SourceWarning | PacerWarning) => void;
}

export interface PacedChunk extends TsChunk {
  /** Clock time at which the chunk was released (use as its source timestamp). */
  releasedAtMs: number;
  /** Which pass over the input produced it (0 first; > 0 only with loop). */
  pass: number;
}

export class TsPacer {
  private readonly chunker: TsChunker;
  private readonly maxLateMs: number;
  private readonly warn: (w: SourceWarning | PacerWarning) => void;
  private anchor: { wallMs: number; mediaMs: number | undefined } | undefined;
  private pass = 0;

  constructor(private readonly opts: TsPacerOptions) {
    this.warn = opts.onWarning ?? (() => undefined);
    this.chunker = new TsChunker({ ...opts.chunker, onWarning: this.warn });
    this.maxLateMs = opts.maxLateMs ?? DEFAULT_MAX_LATE_MS;
  }

  /** Passes over the input started so far. */
  get passes(): number {
    return this.pass;
  }

  /** Bytes the chunker dropped as garbage. */
  get skippedBytes(): number {
    return this.chunker.skippedBytes;
  }

  /** The paced chunks, in order; ends at the end of the input (never when looping) or on abort. */
  async *chunks(): AsyncGenerator<PacedChunk> {
    this.anchor = { wallMs: this.opts.clock.now(), mediaMs: undefined };
    for (;;) {
      const packetsBefore = this.chunker.packetCount;
      for await (const block of this.opts.open()) {
        if (this.aborted()) return;
        for (const c of this.chunker.push(block)) {
          if (!(yield* this.release(c))) return;
        }
      }
      const empty = this.chunker.packetCount === packetsBefore;
      const tail = this.opts.loop && !empty ? this.chunker.markDiscontinuity() : this.chunker.flush();
      for (const c of tail) {
        if (!(yield* this.release(c))) return;
      }
      if (!this.opts.loop || this.aborted()) return;
      if (empty) {
        this.warn({ code: 'source-empty', message: 'input holds no TS packets; not looping' });
        return;
      }
      this.pass++;
    }
  }

  /** Waits until the chunk is due and yields it; false when aborted. */
  private async *release(c: TsChunk): AsyncGenerator<PacedChunk, boolean> {
    const anchor = this.anchor as { wallMs: number; mediaMs: number | undefined };
    anchor.mediaMs ??= c.mediaStartMs;
    let due = anchor.wallMs + (c.mediaStartMs + c.durationMs - anchor.mediaMs);
    let now = this.opts.clock.now();
    if (now - due > this.maxLateMs) {
      this.warn({ code: 'source-late', message: `source ${Math.round(now - due)} ms behind schedule; re-anchored` });
      anchor.wallMs += now - due;
      due = now;
    }
    while (now < due) {
      if (this.aborted()) return false;
      await this.opts.sleep(due - now);
      now = this.opts.clock.now();
    }
    if (this.aborted()) return false;
    yield { ...c, releasedAtMs: now, pass: this.pass };
    return true;
  }

  private aborted(): boolean {
    return this.opts.signal?.aborted === true;
  }
}

/** One pass over a file in blocks (each block a fresh buffer). */
export async function* readFileBlocks(path: string, blockBytes = DEFAULT_READ_BLOCK_BYTES): AsyncGenerator<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    for (;;) {
      const buf = Buffer.alloc(blockBytes);
      const { bytesRead } = await fh.read(buf, 0, blockBytes, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}
