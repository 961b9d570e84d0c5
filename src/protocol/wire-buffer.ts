// Primitive wire values: a sink interface with two implementations (a byte counter that measures,
// a growable writer that writes) and a bounds-checked reader. Every value is big-endian. The codec
// runs the same encode function over the counter and then the writer, so a frame is allocated
// once at its exact size; the writer still grows if a caller under-sizes it.
//
// Wire primitives:
//   u8, u16, u32          unsigned integers
//   u48                   unsigned 48-bit integer (ms timestamps, TTLs, byte sizes: up to ~8900 years)
//   bool                  u8, exactly 0 or 1
//   str8 / str16          UTF-8 bytes after a u8 / u16 byte-length prefix
//   bytes8/bytes16/bytes32 raw bytes after a u8 / u16 / u32 length prefix
import { ProtocolError } from './errors.js';

export const U8_MAX = 0xff;
export const U16_MAX = 0xffff;
export const U32_MAX = 0xffff_ffff;
export const U48_MAX = 2 ** 48 - 1;

/** Where the codec puts primitive values. `field` is only used to name the field in errors. */
export interface WireSink {
  u8(field: string, v: number): void;
  u16(field: string, v: number): void;
  u32(field: string, v: number): void;
  u48(field: string, v: number): void;
  bool(field: string, v: boolean): void;
  str8(field: string, s: string, limit: number): void;
  str16(field: string, s: string, limit: number): void;
  bytes8(field: string, b: Uint8Array, limit: number): void;
  bytes16(field: string, b: Uint8Array, limit: number): void;
  bytes32(field: string, b: Uint8Array, limit: number): void;
}

// ---- validation shared by both sinks (encode side) ----

function show(v: unknown): string {
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : typeof v;
}

function checkUint(field: string, v: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new ProtocolError('bad-value', field, `${show(v)} is not an integer in 0..${max}`);
  }
}

function checkBool(field: string, v: boolean): void {
  if (typeof v !== 'boolean') throw new ProtocolError('bad-value', field, `${show(v)} is not a boolean`);
}

/** Validates a string and returns its UTF-8 byte length. */
function strBytes(field: string, s: string, limit: number, prefixMax: number): number {
  if (typeof s !== 'string') throw new ProtocolError('bad-value', field, `${show(s)} is not a string`);
  const n = Buffer.byteLength(s, 'utf8');
  const max = Math.min(limit, prefixMax);
  if (n > max) throw new ProtocolError('too-long', field, `${n} bytes exceeds limit ${max}`);
  return n;
}

/** Validates a byte field and returns its length. */
function binBytes(field: string, b: Uint8Array, limit: number, prefixMax: number): number {
  if (!(b instanceof Uint8Array)) throw new ProtocolError('bad-value', field, `${show(b)} is not a Uint8Array`);
  const max = Math.min(limit, prefixMax);
  if (b.length > max) throw new ProtocolError('too-long', field, `${b.length} bytes exceeds limit ${max}`);
  return b.length;
}

/** Measures the encoded size of what the codec would write, validating exactly as the writer does. */
export class ByteCounter implements WireSink {
  length = 0;

  u8(field: string, v: number): void { checkUint(field, v, U8_MAX); this.length += 1; }
  u16(field: string, v: number): void { checkUint(field, v, U16_MAX); this.length += 2; }
  u32(field: string, v: number): void { checkUint(field, v, U32_MAX); this.length += 4; }
  u48(field: string, v: number): void { checkUint(field, v, U48_MAX); this.length += 6; }
  bool(field: string, v: boolean): void { checkBool(field, v); this.length += 1; }
  str8(field: string, s: string, limit: number): void { this.length += 1 + strBytes(field, s, limit, U8_MAX); }
  str16(field: string, s: string, limit: number): void { this.length += 2 + strBytes(field, s, limit, U16_MAX); }
  bytes8(field: string, b: Uint8Array, limit: number): void { this.length += 1 + binBytes(field, b, limit, U8_MAX); }
  bytes16(field: string, b: Uint8Array, limit: number): void { this.length += 2 + binBytes(field, b, limit, U16_MAX); }
  bytes32(field: string, b: Uint8Array, limit: number): void { this.length += 4 + binBytes(field, b, limit, U32_MAX); }
}

/** Growable big-endian writer. `finish()` returns a view of the bytes written (no copy). */
export class BufferWriter implements WireSink {
  private buf: Buffer;
  private len = 0;

  constructor(initialCapacity = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialCapacity));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }

  private ensure(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
    this.buf.copy(grown, 0, 0, this.len);
    this.buf = grown;
  }

  u8(field: string, v: number): void {
    checkUint(field, v, U8_MAX);
    this.ensure(1);
    this.buf[this.len++] = v;
  }
  u16(field: string, v: number): void {
    checkUint(field, v, U16_MAX);
    this.ensure(2);
    this.len = this.buf.writeUInt16BE(v, this.len);
  }
  u32(field: string, v: number): void {
    checkUint(field, v, U32_MAX);
    this.ensure(4);
    this.len = this.buf.writeUInt32BE(v, this.len);
  }
  u48(field: string, v: number): void {
    checkUint(field, v, U48_MAX);
    this.ensure(6);
    this.len = this.buf.writeUIntBE(v, this.len, 6);
  }
  bool(field: string, v: boolean): void {
    checkBool(field, v);
    this.ensure(1);
    this.buf[this.len++] = v ? 1 : 0;
  }
  str8(field: string, s: string, limit: number): void {
    const n = strBytes(field, s, limit, U8_MAX);
    this.ensure(1 + n);
    this.buf[this.len++] = n;
    this.len += this.buf.write(s, this.len, n, 'utf8');
  }
  str16(field: string, s: string, limit: number): void {
    const n = strBytes(field, s, limit, U16_MAX);
    this.ensure(2 + n);
    this.len = this.buf.writeUInt16BE(n, this.len);
    this.len += this.buf.write(s, this.len, n, 'utf8');
  }
  bytes8(field: string, b: Uint8Array, limit: number): void {
    const n = binBytes(field, b, limit, U8_MAX);
    this.ensure(1 + n);
    this.buf[this.len++] = n;
    this.raw(b);
  }
  bytes16(field: string, b: Uint8Array, limit: number): void {
    const n = binBytes(field, b, limit, U16_MAX);
    this.ensure(2 + n);
    this.len = this.buf.writeUInt16BE(n, this.len);
    this.raw(b);
  }
  bytes32(field: string, b: Uint8Array, limit: number): void {
    const n = binBytes(field, b, limit, U32_MAX);
    this.ensure(4 + n);
    this.len = this.buf.writeUInt32BE(n, this.len);
    this.raw(b);
  }

  /** Appends bytes with no prefix (the single copy of chunk data happens here). */
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** The bytes written, as a view on the internal buffer; the writer must not be used afterwards. */
  finish(): Buffer {
    return this.len === this.buf.length ? this.buf : this.buf.subarray(0, this.len);
  }
}

/**
 * Bounds-checked big-endian reader over one payload. Every read checks the remaining length first,
 * and every length prefix is checked against its limit and the remaining bytes before anything is
 * allocated. Failures throw ProtocolError naming `field`.
 */
export class BufferReader {
  private readonly buf: Buffer;
  private off = 0;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.off;
  }

  private need(field: string, n: number): void {
    if (this.buf.length - this.off < n) {
      throw new ProtocolError('truncated', field, `needs ${n} bytes, only ${this.buf.length - this.off} left`);
    }
  }

  u8(field: string): number {
    this.need(field, 1);
    return this.buf[this.off++]!;
  }
  u16(field: string): number {
    this.need(field, 2);
    const v = this.buf.readUInt16BE(this.off);
    this.off += 2;
    return v;
  }
  u32(field: string): number {
    this.need(field, 4);
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  u48(field: string): number {
    this.need(field, 6);
    const v = this.buf.readUIntBE(this.off, 6);
    this.off += 6;
    return v;
  }
  bool(field: string): boolean {
    const v = this.u8(field);
    if (v > 1) throw new ProtocolError('bad-value', field, `bool byte is ${v}, expected 0 or 1`);
    return v === 1;
  }

  /** Reads a u16 element count and checks it against `limit` before the caller allocates. */
  count(field: string, limit: number): number {
    const n = this.u16(field);
    if (n > limit) throw new ProtocolError('too-long', field, `count ${n} exceeds limit ${limit}`);
    return n;
  }

  /** Invalid UTF-8 is accepted and decoded as U+FFFD; only the byte length is bounded. */
  str8(field: string, limit: number): string {
    return this.str(field, this.u8(field), limit);
  }
  str16(field: string, limit: number): string {
    return this.str(field, this.u16(field), limit);
  }
  private str(field: string, n: number, limit: number): string {
    if (n > limit) throw new ProtocolError('too-long', field, `${n} bytes exceeds limit ${limit}`);
    this.need(field, n);
    const s = n === 0 ? '' : this.buf.toString('utf8', this.off, this.off + n);
    this.off += n;
    return s;
  }

  /**
   * Length-prefixed bytes. `view` = true returns a subarray sharing memory with the payload (no copy;
   * it keeps the payload's whole backing buffer alive); false returns a fresh copy.
   */
  bytes8(field: string, limit: number, view: boolean): Uint8Array {
    return this.bin(field, this.u8(field), limit, view);
  }
  bytes16(field: string, limit: number, view: boolean): Uint8Array {
    return this.bin(field, this.u16(field), limit, view);
  }
  bytes32(field: string, limit: number, view: boolean): Uint8Array {
    return this.bin(field, this.u32(field), limit, view);
  }
  private bin(field: string, n: number, limit: number, view: boolean): Uint8Array {
    if (n > limit) throw new ProtocolError('too-long', field, `${n} bytes exceeds limit ${limit}`);
    this.need(field, n);
    const slice = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return view ? slice : new Uint8Array(slice);
  }

  /** Throws unless every byte was consumed. */
  end(field: string): void {
    if (this.off !== this.buf.length) {
      throw new ProtocolError('trailing-bytes', field, `${this.buf.length - this.off} unexpected bytes after the last field`);
    }
  }
}
