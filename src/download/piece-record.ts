// The record of verified pieces beside a partial download (`PATH.part.pieces`): the manifest, then
// two fixed-size slots holding the verified-piece bitfield with a sequence number and a CRC32.
// Updates overwrite the older slot in place and fdatasync it, so
//  - an update is atomic in effect: a torn write spoils only the slot being written, and loading
//    takes the valid slot with the higher sequence number (the previous state);
//  - an update never needs new disk space (the file is created at full size), so a full disk cannot
//    stop the verified pieces from being recorded.
// The file is created through a temporary name and a rename, so it exists whole or not at all.
//
// Layout (big-endian): "SDPR" | version u8 = 1 | 3 × u8 0 | manifestLen u32 | slotBytes u32 |
// manifest | slot A | slot B;  slot = "SLOT" | seq u32 | count u32 | bitsLen u32 | bits | crc32 u32
// (over seq … bits).
import { closeSync, fdatasync, fdatasyncSync, fsyncSync, openSync, readSync, renameSync, write, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { readFully } from '../source/file-manifest.js';

const MAGIC = Buffer.from('SDPR');
const SLOT_MAGIC = Buffer.from('SLOT');
const VERSION = 1;
const HEADER_BYTES = 16;
const SLOT_OVERHEAD = 20;

export class RecordError extends Error {
  override name = 'RecordError';
}

function slotBytesFor(pieceCount: number): number {
  return SLOT_OVERHEAD + Math.ceil(pieceCount / 8);
}

function countBits(bits: Uint8Array): number {
  let n = 0;
  for (const byte of bits) {
    let b = byte;
    while (b !== 0) {
      b &= b - 1;
      n++;
    }
  }
  return n;
}

function encodeSlot(seq: number, bits: Uint8Array): Buffer {
  const out = Buffer.alloc(SLOT_OVERHEAD + bits.length);
  SLOT_MAGIC.copy(out, 0);
  out.writeUInt32BE(seq >>> 0, 4);
  out.writeUInt32BE(countBits(bits), 8);
  out.writeUInt32BE(bits.length, 12);
  out.set(bits, 16);
  out.writeUInt32BE(crc32(out.subarray(4, 16 + bits.length)), 16 + bits.length);
  return out;
}

function decodeSlot(buf: Buffer, bitsLen: number): { seq: number; bits: Uint8Array } | undefined {
  if (buf.length !== SLOT_OVERHEAD + bitsLen || !buf.subarray(0, 4).equals(SLOT_MAGIC)) return undefined;
  if (buf.readUInt32BE(12) !== bitsLen) return undefined;
  if (crc32(buf.subarray(4, 16 + bitsLen)) !== buf.readUInt32BE(16 + bitsLen)) return undefined;
  const bits = Uint8Array.from(buf.subarray(16, 16 + bitsLen));
  if (countBits(bits) !== buf.readUInt32BE(8)) return undefined;
  return { seq: buf.readUInt32BE(4), bits };
}

export class PieceRecord {
  private constructor(
    private fd: number | undefined,
    readonly path: string,
    private readonly slotsAt: number,
    private readonly slotBytes: number,
    private seq: number,
  ) {}

  /** Creates the record (whole, via a temporary file and rename) with no piece verified. */
  static create(path: string, manifestBytes: Uint8Array, pieceCount: number): PieceRecord {
    const slotBytes = slotBytesFor(pieceCount);
    const header = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(header, 0);
    header.writeUInt8(VERSION, 4);
    header.writeUInt32BE(manifestBytes.length, 8);
    header.writeUInt32BE(slotBytes, 12);
    const empty = new Uint8Array(Math.ceil(pieceCount / 8));
    // Slot k holds the sequence numbers ≡ k (mod 2); the next write goes to the other slot.
    const body = Buffer.concat([header, manifestBytes, encodeSlot(0, empty), encodeSlot(1, empty)]);
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeAll(fd, body, 0);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    return new PieceRecord(openSync(path, 'r+'), path, HEADER_BYTES + manifestBytes.length, slotBytes, 1);
  }

  /** Opens a record: its manifest bytes and the bitfield of its newest valid slot. Throws RecordError. */
  static open(path: string): { record: PieceRecord; manifestBytes: Buffer; bits: Uint8Array } {
    const fd = openSync(path, 'r+');
    try {
      const header = Buffer.alloc(HEADER_BYTES);
      if (readFully(fd, header, HEADER_BYTES, 0) !== HEADER_BYTES || !header.subarray(0, 4).equals(MAGIC)) {
        throw new RecordError(`${path} is not a superdist piece record`);
      }
      if (header.readUInt8(4) !== VERSION) throw new RecordError(`${path}: unsupported record version ${header.readUInt8(4)}`);
      const manifestLen = header.readUInt32BE(8);
      const slotBytes = header.readUInt32BE(12);
      if (manifestLen > 64 * 1024 * 1024 || slotBytes < SLOT_OVERHEAD || slotBytes > 1024 * 1024) throw new RecordError(`${path}: corrupt record header`);
      const manifestBytes = Buffer.alloc(manifestLen);
      if (readFully(fd, manifestBytes, manifestLen, HEADER_BYTES) !== manifestLen) throw new RecordError(`${path}: truncated record`);
      const slotsAt = HEADER_BYTES + manifestLen;
      const bitsLen = slotBytes - SLOT_OVERHEAD;
      const slots = [0, 1].map((k) => {
        const buf = Buffer.alloc(slotBytes);
        const n = readSync(fd, buf, 0, slotBytes, slotsAt + k * slotBytes);
        return decodeSlot(buf.subarray(0, n), bitsLen);
      });
      const valid = slots.filter((s): s is { seq: number; bits: Uint8Array } => s !== undefined);
      if (valid.length === 0) throw new RecordError(`${path}: both record slots are damaged`);
      const best = valid.reduce((a, b) => (b.seq > a.seq ? b : a));
      return { record: new PieceRecord(fd, path, slotsAt, slotBytes, best.seq), manifestBytes, bits: best.bits };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** Records `bits` as the verified pieces: the older slot is overwritten (then synced when `sync`). */
  write(bits: Uint8Array, sync = true): void {
    const { fd, slot, at } = this.next(bits);
    writeAll(fd, slot, at);
    if (sync) fdatasyncSync(fd);
  }

  /**
   * The same without blocking the event loop. The caller must not close the record before `done`
   * runs. A later write (sync or not) gets a higher sequence number, so it wins whatever the order
   * in which the two reach the disk.
   */
  writeAsync(bits: Uint8Array, done: (err: Error | null) => void): void {
    let next;
    try {
      next = this.next(bits);
    } catch (err) {
      queueMicrotask(() => done(err as Error));
      return;
    }
    const { fd, slot, at } = next;
    write(fd, slot, 0, slot.length, at, (err, n) => {
      if (err) return done(err);
      if (n !== slot.length) return done(new Error(`short write to ${this.path}`));
      fdatasync(fd, (e) => done(e ?? null));
    });
  }

  /** The next slot to write: the one not holding the newest state, with the next sequence number. */
  private next(bits: Uint8Array): { fd: number; slot: Buffer; at: number } {
    if (this.fd === undefined) throw new Error(`${this.path} is closed`);
    if (bits.length !== this.slotBytes - SLOT_OVERHEAD) throw new RangeError('bitfield size does not match the record');
    const seq = ++this.seq;
    return { fd: this.fd, slot: encodeSlot(seq, bits), at: this.slotsAt + (seq % 2) * this.slotBytes };
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

export function writeAll(fd: number, data: Uint8Array, position: number): void {
  let done = 0;
  while (done < data.byteLength) done += writeSync(fd, data, done, data.byteLength - done, position + done);
}
