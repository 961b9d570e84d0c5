// The PieceStore of a download in progress: pieces go to `PATH.part` (a sparse file of the final
// size) at their offsets; `PATH.part.pieces` records which are verified (piece-record.ts);
// `PATH.part.lock` keeps a second writer out. Crash safety: a piece is recorded only after its
// bytes were written, and the record is brought up to date at most every flushMs while pieces
// arrive, and at once when the download ends (then with fdatasync of both files):
//  - fsync = false (default): the record slot is rewritten right away without syncing. A process
//    crash (SIGKILL) loses nothing written (the bytes are in the page cache); after a power loss
//    the record may list pieces whose bytes never reached the disk, so the caller must hash the
//    recorded pieces again on resume (recheck), and refetches those.
//  - fsync = true: `.part` is fdatasync'ed in the background (async: the event loop never waits
//    for the disk), then the slot is written and synced; the bitfield is snapshotted before the
//    data sync starts, so the sync covers every piece the record lists, even across power loss.
// On resume the recorded pieces are (optionally) hashed again; when every piece is held, `.part`
// is renamed to PATH atomically and the record removed. Pieces are written and read synchronously
// (local disk on the box; writes land in the page cache).
import { closeSync, existsSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { StorageError, type PieceStore } from '../engine/download-ports.js';
import { fsyncDir } from '../platform/durable-file.js';
import { pieceLength, type Manifest } from '../protocol/manifest.js';
import { readFully } from '../source/file-manifest.js';
import { pieceMatches } from '../source/piece-verifier.js';
import { takePartLock } from './part-lock.js';
import type { PieceCache } from './piece-cache.js';
import { PieceRecord, writeAll } from './piece-record.js';
import { storageError } from './storage-errors.js';

export interface PartStoreOptions {
  /** Final path of the file (PATH); the parts live beside it. */
  path: string;
  contentId: string;
  manifest: Manifest;
  manifestBytes: Uint8Array;
  cache: PieceCache;
  /** Least time between two record updates while pieces arrive. */
  flushMs: number;
  /** Hash the recorded pieces again on resume. */
  recheck: boolean;
  /** Sync `.part` before each record update (see above). */
  fsync: boolean;
}

/** The record beside PATH belongs to another content: the user must choose. */
export class PartMismatchError extends Error {
  override name = 'PartMismatchError';
}

export function partPaths(path: string): { part: string; record: string; lock: string } {
  return { part: `${path}.part`, record: `${path}.part.pieces`, lock: `${path}.part.lock` };
}

export class PartStore implements PieceStore {
  readonly resumedCount: number;
  /** Recorded pieces that failed the recheck on resume (fetched again). */
  readonly recheckFailed: number;
  private held: number;
  private dirty = false;
  private lastFlushAt = -Infinity;
  private finished = false;
  private closed = false;
  /** A background record update is under way (files are closed only once it is done). */
  private flushing = false;
  private flushError: StorageError | undefined;
  private whenIdle: Array<() => void> = [];
  /** Disk reads land here (one buffer, reused: see PieceStore.read). */
  private readonly scratch: Buffer;

  private constructor(
    private readonly o: PartStoreOptions,
    private readonly fd: number,
    private readonly record: PieceRecord,
    private readonly bits: Uint8Array,
    private readonly releaseLock: () => void,
    recheckFailed: number,
  ) {
    this.held = 0;
    for (let i = 0; i < o.manifest.pieceCount; i++) if (this.has(i)) this.held++;
    this.resumedCount = this.held;
    this.recheckFailed = recheckFailed;
    this.scratch = Buffer.allocUnsafe(o.manifest.pieceBytes);
  }

  /** Creates or resumes the parts of PATH. Throws StorageError, PartMismatchError or PartLockedError. */
  static open(o: PartStoreOptions): PartStore {
    const paths = partPaths(o.path);
    const m = o.manifest;
    const release = takePartLock(paths.lock, paths.part);
    let record: PieceRecord | undefined;
    let fd: number | undefined;
    try {
      let bits: Uint8Array = new Uint8Array(Math.ceil(m.pieceCount / 8));
      if (existsSync(paths.record)) {
        const opened = PieceRecord.open(paths.record);
        record = opened.record;
        if (!opened.manifestBytes.equals(o.manifestBytes)) {
          throw new PartMismatchError(`${paths.record} records another download than ${o.contentId}; remove ${paths.part} and ${paths.record}, or choose another output path`);
        }
        if (existsSync(paths.part)) bits = opened.bits;
      } else {
        record = PieceRecord.create(paths.record, o.manifestBytes, m.pieceCount);
      }
      fd = openSync(paths.part, existsSync(paths.part) && existsSync(paths.record) ? 'r+' : 'w+', 0o644);
      if (fstatSync(fd).size !== m.sizeBytes) ftruncateSync(fd, m.sizeBytes);
      let failed = 0;
      if (o.recheck) failed = recheck(fd, m, bits);
      return new PartStore(o, fd, record, bits, release, failed);
    } catch (err) {
      record?.close();
      if (fd !== undefined) closeSync(fd);
      release();
      if (err instanceof PartMismatchError || (err as Error).name === 'RecordError') throw err;
      throw storageError(err, `preparing ${paths.part}`);
    }
  }

  get count(): number {
    return this.held;
  }

  has(index: number): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= this.o.manifest.pieceCount) return false;
    return ((this.bits[index >> 3] as number) & (0x80 >> (index & 7))) !== 0;
  }

  read(index: number): Uint8Array | undefined {
    if (!this.has(index) || this.closed) return undefined;
    const cached = this.o.cache.get(this.key(index));
    if (cached) return cached;
    const len = pieceLength(this.o.manifest, index);
    try {
      if (readFully(this.fd, this.scratch, len, index * this.o.manifest.pieceBytes) !== len) return undefined;
    } catch {
      return undefined;
    }
    return this.scratch.subarray(0, len);
  }

  write(index: number, data: Uint8Array): void {
    if (this.closed || this.finished) throw new StorageError('io', `${partPaths(this.o.path).part} is closed`);
    if (this.has(index)) return;
    try {
      writeAll(this.fd, data, index * this.o.manifest.pieceBytes);
    } catch (err) {
      throw storageError(err, `writing piece ${index} to ${partPaths(this.o.path).part}`);
    }
    this.bits[index >> 3] = (this.bits[index >> 3] as number) | (0x80 >> (index & 7));
    this.held++;
    this.dirty = true;
    this.o.cache.put(this.key(index), data);
  }

  tick(now: number): void {
    const failed = this.flushError;
    if (failed) {
      this.flushError = undefined;
      throw failed;
    }
    if (this.dirty && !this.flushing && !this.closed && !this.finished && now - this.lastFlushAt >= this.o.flushMs) {
      this.lastFlushAt = now;
      if (this.o.fsync) this.flushInBackground();
      else this.recordUnsynced();
    }
  }

  /** Makes every written piece durable and recorded, now (blocking). */
  flush(): void {
    if (!this.dirty || this.closed) return;
    const paths = partPaths(this.o.path);
    try {
      fdatasyncSync(this.fd);
      this.record.write(this.bits);
      this.dirty = false;
    } catch (err) {
      throw storageError(err, `recording verified pieces in ${paths.record}`);
    }
  }

  /** Written bytes are in the page cache: record them without waiting for the disk. */
  private recordUnsynced(): void {
    try {
      this.record.write(this.bits, false);
      this.dirty = false;
    } catch (err) {
      throw storageError(err, `recording verified pieces in ${partPaths(this.o.path).record}`);
    }
  }

  private flushInBackground(): void {
    const paths = partPaths(this.o.path);
    const snapshot = Uint8Array.from(this.bits);
    this.dirty = false;
    this.flushing = true;
    const settle = (err: Error | null, doing: string): void => {
      this.flushing = false;
      if (err && !this.closed && !this.finished) {
        this.flushError = storageError(err, doing);
        this.dirty = true;
      }
      const waiting = this.whenIdle;
      this.whenIdle = [];
      for (const fn of waiting) fn();
    };
    fdatasync(this.fd, (err) => {
      if (err) return settle(err, `syncing ${paths.part}`);
      this.record.writeAsync(snapshot, (e) => settle(e, `recording verified pieces in ${paths.record}`));
    });
  }

  /** Runs `fn` once no background update uses the files (closing them under it could hit a reused fd). */
  private idle(fn: () => void): void {
    if (this.flushing) this.whenIdle.push(fn);
    else fn();
  }

  finish(): void {
    if (this.finished) return;
    const paths = partPaths(this.o.path);
    this.flush();
    try {
      fsyncSync(this.fd);
      renameSync(paths.part, this.o.path);
      fsyncDir(dirname(this.o.path));
    } catch (err) {
      throw storageError(err, `renaming ${paths.part} to ${this.o.path}`);
    }
    this.finished = true;
    this.idle(() => {
      this.record.close();
      rmSync(paths.record, { force: true });
    });
    this.releaseLock();
  }

  /** Records what is verified (best effort) and closes the files. */
  close(): void {
    if (this.closed) return;
    try {
      this.flush();
    } catch {
      // the previous record stays valid
    }
    this.closed = true;
    this.idle(() => {
      this.record.close();
      closeSync(this.fd);
    });
    this.o.cache.dropPrefix(`${this.o.contentId}/`);
    this.releaseLock();
  }

  private key(index: number): string {
    return `${this.o.contentId}/${index}`;
  }
}

/** Hashes every recorded piece again; clears those that do not match. Returns how many failed. */
function recheck(fd: number, m: Manifest, bits: Uint8Array): number {
  const buf = Buffer.allocUnsafe(m.pieceBytes);
  let failed = 0;
  for (let i = 0; i < m.pieceCount; i++) {
    if (((bits[i >> 3] as number) & (0x80 >> (i & 7))) === 0) continue;
    const len = pieceLength(m, i);
    if (readFully(fd, buf, len, i * m.pieceBytes) !== len || !pieceMatches(m, i, buf.subarray(0, len))) {
      bits[i >> 3] = (bits[i >> 3] as number) & ~(0x80 >> (i & 7));
      failed++;
    }
  }
  return failed;
}
