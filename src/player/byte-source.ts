// What the player reads on demand (a download played while it downloads, a protected file through
// the DRM agent): a file of known size read at any offset. A read into bytes this box does not
// hold yet waits for them. PieceByteSource reads a download's verified pieces; the DRM agent's
// ProtectedByteSource (src/drm/protected-source.ts) decrypts another ByteSource on the way;
// FileByteSource reads a complete local file.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface ByteSource {
  readonly sizeBytes: number;
  readonly contentType: string;
  /**
   * Up to `max` bytes (at least 1) from `offset` (< sizeBytes), waiting for missing ones. Rejects
   * when `signal` aborts (the player closed the connection) or the bytes cannot come (the download
   * failed or stopped, rights ended).
   */
  read(offset: number, max: number, signal: AbortSignal): Promise<Uint8Array>;
}

/** Bytes [from, to) of `source`, waiting for missing ones (rejects as ByteSource.read does). */
export async function readRange(source: ByteSource, from: number, to: number, signal: AbortSignal): Promise<Uint8Array> {
  const out = new Uint8Array(to - from);
  let at = from;
  while (at < to) {
    const b = await source.read(at, to - at, signal);
    out.set(b.subarray(0, to - at), at - from);
    at += b.length;
  }
  return out;
}

/** A download's pieces as the player reads them (DownloadNode.reader). */
export interface PieceReader {
  readonly sizeBytes: number;
  readonly pieceBytes: number;
  has(index: number): boolean;
  /** A copy of a verified piece, undefined when not held (or unreadable). */
  read(index: number): Uint8Array | undefined;
  /** Resolves once the piece is verified and written; rejects when it cannot come or `signal` aborts. */
  waitFor(index: number, signal: AbortSignal): Promise<void>;
}

/** What a PieceByteSource tells its owner: where the player reads (the playhead), and waits. */
export interface PieceReadHooks {
  /** The player reads in piece `index` (moves the download's playback window there). */
  reading(index: number): void;
  /** A read waits for a missing piece; `done` is called when it stops waiting. */
  waiting(index: number): { done(): void };
}

export class PieceByteSource implements ByteSource {
  readonly sizeBytes: number;
  /** The last piece read: the player reads a piece in many blocks. */
  private last: { index: number; data: Uint8Array } | undefined;

  constructor(
    private readonly reader: PieceReader,
    readonly contentType: string,
    private readonly hooks: PieceReadHooks,
  ) {
    this.sizeBytes = reader.sizeBytes;
  }

  async read(offset: number, max: number, signal: AbortSignal): Promise<Uint8Array> {
    if (!(offset >= 0 && offset < this.sizeBytes)) throw new RangeError(`offset ${offset} is outside 0..${this.sizeBytes - 1}`);
    const size = this.reader.pieceBytes;
    const index = Math.floor(offset / size);
    this.hooks.reading(index);
    if (!this.reader.has(index)) {
      const w = this.hooks.waiting(index);
      try {
        await this.reader.waitFor(index, signal);
      } finally {
        w.done();
      }
    }
    const piece = this.last?.index === index ? this.last.data : this.reader.read(index);
    if (!piece) throw new Error(`piece ${index} is recorded as verified but could not be read`);
    this.last = { index, data: piece };
    const start = offset - index * size;
    return piece.subarray(start, Math.min(piece.length, start + max));
  }
}

/** A complete local file (a protected .sdc played from disk). */
export class FileByteSource implements ByteSource {
  private closed = false;

  static open(path: string, contentType: string): FileByteSource {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw new Error(`cannot open ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const st = fstatSync(fd);
    if (!st.isFile()) {
      closeSync(fd);
      throw new Error(`${path} is not a regular file`);
    }
    return new FileByteSource(fd, st.size, contentType);
  }

  private constructor(
    private readonly fd: number,
    readonly sizeBytes: number,
    readonly contentType: string,
  ) {}

  async read(offset: number, max: number): Promise<Uint8Array> {
    if (this.closed) throw new Error('the file was closed');
    if (!(offset >= 0 && offset < this.sizeBytes)) throw new RangeError(`offset ${offset} is outside 0..${this.sizeBytes - 1}`);
    const b = Buffer.alloc(Math.min(max, this.sizeBytes - offset));
    const n = readSync(this.fd, b, 0, b.length, offset);
    if (n === 0) throw new Error(`the file ended at ${offset} (it shrank while played)`);
    return b.subarray(0, n);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}
