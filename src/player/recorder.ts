// `--record FILE`: writes a live channel to a file, as a ChunkFeed of the channel's LiveOutput.
//
// What it records is the output's stream: every chunk the output hands to the player side, in
// order, byte for byte, nothing for gaps. That is exactly what a player that keeps up receives
// (the first client from playback start), and it does not depend on any one client — the file
// stays whole across an mpv restart. A client that connects late or drops to the live edge gets
// a suffix / a subsequence of it.
import { open, type FileHandle } from 'node:fs/promises';
import type { ChunkFeed } from './live-output.js';

/** Bytes that may wait for the disk before the recording gives up (the disk is too slow). */
export const RECORDER_MAX_QUEUED_BYTES = 64 * 1024 * 1024;

export interface RecorderOptions {
  maxQueuedBytes?: number;
  onWarning?: (w: { code: string; message: string }) => void;
}

export class Recorder implements ChunkFeed {
  /** Creates (or truncates) `file`; rejects with a clear error when it cannot be opened. */
  static async open(file: string, opts: RecorderOptions = {}): Promise<Recorder> {
    let fh: FileHandle;
    try {
      fh = await open(file, 'w');
    } catch (err) {
      throw new Error(`cannot record to ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    return new Recorder(file, fh, opts);
  }

  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  private written = 0;
  private failure: Error | undefined;
  private closed: Promise<void> | undefined;

  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
    private readonly opts: RecorderOptions,
  ) {}

  get bytesWritten(): number {
    return this.written;
  }

  get bytesQueued(): number {
    return this.queued;
  }

  /** Why the recording stopped early, if it did. */
  get error(): Error | undefined {
    return this.failure;
  }

  onChunk(_seq: number, _mediaMs: number, data: Uint8Array): void {
    if (this.failure || this.closed) return;
    if (this.queued + data.byteLength > (this.opts.maxQueuedBytes ?? RECORDER_MAX_QUEUED_BYTES)) {
      this.fail(new Error(`recording to ${this.file} stopped: the disk fell ${this.queued} bytes behind the stream`));
      return;
    }
    this.queued += data.byteLength;
    this.tail = this.tail.then(() => this.writeAll(data));
  }

  onGap(): void {
    // Nothing: the file holds what the player received, and the player receives nothing for a gap.
  }

  onEnd(): void {
    void this.close();
  }

  /** Writes what is queued and closes the file. Safe to call more than once. */
  close(): Promise<void> {
    this.closed ??= this.tail.then(() => this.fh.close()).catch((err: Error) => this.fail(err));
    return this.closed;
  }

  private async writeAll(data: Uint8Array): Promise<void> {
    if (this.failure) return;
    try {
      let off = 0;
      while (off < data.byteLength) {
        const { bytesWritten } = await this.fh.write(data, off, data.byteLength - off);
        off += bytesWritten;
      }
      this.written += data.byteLength;
    } catch (err) {
      this.fail(new Error(`recording to ${this.file} failed: ${(err as Error).message}`));
    } finally {
      this.queued -= data.byteLength;
    }
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.opts.onWarning?.({ code: 'record-failed', message: err.message });
  }
}
