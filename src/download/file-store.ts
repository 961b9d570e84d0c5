// The PieceStore of a complete file: a publisher's input, or a download that finished earlier and is
// seeded again. Read-only; pieces are read at their offsets into one reused buffer (the page cache
// keeps hot pieces in memory; see PieceStore.read).
import { closeSync, fstatSync, openSync } from 'node:fs';
import { StorageError, type PieceStore } from '../engine/download-ports.js';
import { pieceLength, type Manifest } from '../protocol/manifest.js';
import { readFully } from '../source/file-manifest.js';

export class FileStore implements PieceStore {
  private closed = false;
  private readonly scratch: Buffer;

  private constructor(
    private readonly fd: number,
    private readonly manifest: Manifest,
    readonly resumedCount: number,
  ) {
    this.scratch = Buffer.allocUnsafe(manifest.pieceBytes);
  }

  /** Opens `path` for serving. `resumed`: count its pieces as held from the start (status). */
  static open(path: string, manifest: Manifest, resumed = false): FileStore {
    const fd = openSync(path, 'r');
    if (fstatSync(fd).size !== manifest.sizeBytes) {
      closeSync(fd);
      throw new StorageError('io', `${path} is not ${manifest.sizeBytes} bytes long, as the manifest says`);
    }
    return new FileStore(fd, manifest, resumed ? manifest.pieceCount : 0);
  }

  get count(): number {
    return this.manifest.pieceCount;
  }

  has(index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < this.manifest.pieceCount;
  }

  read(index: number): Uint8Array | undefined {
    if (!this.has(index) || this.closed) return undefined;
    const len = pieceLength(this.manifest, index);
    try {
      if (readFully(this.fd, this.scratch, len, index * this.manifest.pieceBytes) !== len) return undefined;
    } catch {
      return undefined;
    }
    return this.scratch.subarray(0, len);
  }

  write(): void {
    // every piece is already held
  }

  tick(): void {}

  finish(): void {}

  flush(): void {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}
