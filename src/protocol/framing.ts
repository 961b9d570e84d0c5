// TCP framing with the thesis's error recovery: a start marker opens every frame; on a bad frame the
// reader drops bytes until the next start marker, counts what happened, and the connection lives on.
//
//   offset  size  field
//   0       4     start marker F0 5D 15 7A
//   4       1     version (PROTOCOL_VERSION)
//   5       1     message type code (MessageType)
//   6       4     payload length N, u32 BE
//   10      N     payload (codec.ts)
//   10+N    4     CRC32 (zlib.crc32) over bytes 4 .. 10+N (version, type, length, payload), u32 BE
//
// The four marker bytes are all different, so a marker cannot overlap itself: after a false start,
// searching again from the next byte can never miss a real marker.
import { crc32 } from 'node:zlib';
import { decodePayload, payloadByteLength, typeCodeOf, writeFields } from './codec.js';
import { ProtocolError } from './errors.js';
import type { Message } from './messages.js';
import { BufferWriter } from './wire-buffer.js';

/** Current frame version. A reader drops (and resyncs past) frames of any other version. */
export const PROTOCOL_VERSION = 2;
/** The start marker opening every frame. */
export const FRAME_MARKER: Readonly<Buffer> = Buffer.from([0xf0, 0x5d, 0x15, 0x7a]);
const MARKER_BYTES = 4;
/** Marker + version + type + payload length. */
export const FRAME_HEADER_BYTES = MARKER_BYTES + 1 + 1 + 4;
const CRC_BYTES = 4;
/** Bytes a frame adds around its payload (header + CRC). */
export const FRAME_OVERHEAD_BYTES = FRAME_HEADER_BYTES + CRC_BYTES;
/** Largest payload the u32 length field can declare. */
const MAX_LENGTH_FIELD = 0xffff_ffff;

/** Encodes `msg` as one frame in a single allocation (header + payload + CRC). Throws ProtocolError. */
export function encodeFrame(msg: Message): Buffer {
  const code = typeCodeOf(msg);
  const payloadBytes = payloadByteLength(msg);
  if (payloadBytes > MAX_LENGTH_FIELD) {
    throw new ProtocolError('too-long', msg.type, `payload of ${payloadBytes} bytes does not fit a frame`);
  }
  const w = new BufferWriter(FRAME_OVERHEAD_BYTES + payloadBytes);
  w.raw(FRAME_MARKER);
  w.u8('frame.version', PROTOCOL_VERSION);
  w.u8('frame.type', code);
  w.u32('frame.length', payloadBytes);
  writeFields(w, msg);
  w.u32('frame.crc', 0); // placeholder, filled in below
  const frame = w.finish();
  const end = frame.length - CRC_BYTES;
  frame.writeUInt32BE(crc32(frame.subarray(MARKER_BYTES, end)), end);
  return frame;
}

/** What a FrameDecoder reports through `onError` (each problem once). */
export type FrameErrorKind =
  /** bytes where a start marker was expected (reported once per loss of sync) */
  | 'garbage'
  /** a marker followed by a version other than PROTOCOL_VERSION; resynced */
  | 'bad-version'
  /** a declared payload length over maxPayloadBytes; rejected from the header alone, resynced */
  | 'oversized'
  /** CRC mismatch; resynced */
  | 'crc'
  /** valid frame with a type code no message has; that frame skipped */
  | 'unknown-type'
  /** valid frame whose payload did not decode (ProtocolError); that frame skipped */
  | 'decode';

export interface FrameError {
  kind: FrameErrorKind;
  detail: string;
}

export interface FrameDecoderStats {
  /** Frames decoded into messages. */
  framesOk: number;
  /** Bytes dropped without yielding a message (garbage, bad frames, skipped frames). */
  bytesSkipped: number;
  /** Times the decoder lost sync and searched for the next marker. */
  resyncs: number;
  crcErrors: number;
  badVersion: number;
  oversized: number;
  unknownType: number;
  decodeErrors: number;
}

export interface FrameDecoderOptions {
  /** Largest payload accepted; a header declaring more is rejected at once. */
  maxPayloadBytes: number;
  /** Called once per problem; must not throw. */
  onError?: (e: FrameError) => void;
}

/**
 * Incremental frame reader for one byte stream. `push()` never throws on bad input: every problem is
 * counted in `stats`, reported to `onError`, and decoding resumes at the next start marker.
 *
 * Memory: between pushes it holds fewer than maxPayloadBytes + FRAME_OVERHEAD_BYTES bytes (while
 * searching for a marker, at most 3). Pushed chunks are kept as a list and merged only once enough
 * bytes for the awaited step (marker, header or whole frame) have arrived, so many small pushes cost
 * linear time. Buffers are never reused or written to: decoded messages may hold views into pushed
 * chunks (DataChunkResp.data), so callers must not mutate a chunk after pushing it.
 *
 * A truncated frame delays the frames after it until enough bytes arrive to fill its declared length
 * (bounded by maxPayloadBytes); the CRC then fails and the following frames are found by resync.
 */
export class FrameDecoder {
  readonly stats: FrameDecoderStats = {
    framesOk: 0,
    bytesSkipped: 0,
    resyncs: 0,
    crcErrors: 0,
    badVersion: 0,
    oversized: 0,
    unknownType: 0,
    decodeErrors: 0,
  };
  private readonly maxPayloadBytes: number;
  private readonly onError: ((e: FrameError) => void) | undefined;
  /** Pending bytes, oldest first; only the first may be a view left over from earlier parsing. */
  private chunks: Buffer[] = [];
  private total = 0;
  /** Bytes that must be buffered before the next step can make progress. */
  private need = MARKER_BYTES;
  /** True from a loss of sync until the next frame with a valid CRC. */
  private searching = false;

  constructor(opts: FrameDecoderOptions) {
    const max = opts.maxPayloadBytes;
    if (!Number.isInteger(max) || max < 0 || max > MAX_LENGTH_FIELD) {
      throw new RangeError(`FrameDecoder maxPayloadBytes: ${max} is not an integer in 0..${MAX_LENGTH_FIELD}`);
    }
    this.maxPayloadBytes = max;
    this.onError = opts.onError;
  }

  /** Bytes held while waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.total;
  }

  /** Adds bytes from the stream; returns every message completed by them, in order. */
  push(chunk: Buffer): Message[] {
    const out: Message[] = [];
    if (chunk.length === 0) return out;
    this.chunks.push(chunk);
    this.total += chunk.length;
    if (this.total >= this.need) this.drain(out);
    return out;
  }

  /** Parses as many frames as the buffered bytes allow. */
  private drain(out: Message[]): void {
    while (this.total >= this.need) {
      const buf = this.front(this.need);

      // 1. The front must start with the marker; anything before it is skipped.
      const at = buf.indexOf(FRAME_MARKER);
      if (at !== 0) {
        if (!this.searching) {
          this.searching = true;
          this.stats.resyncs++;
          this.report('garbage', `byte 0x${buf[0]!.toString(16).padStart(2, '0')} where a start marker was expected`);
        }
        if (at > 0) {
          this.skip(at, true);
          this.need = MARKER_BYTES;
        } else {
          // Keep the last 3 bytes (a marker may continue in the next chunk); merge them with what follows.
          const keep = Math.min(buf.length, MARKER_BYTES - 1);
          this.skip(buf.length - keep, true);
          this.need = keep + 1;
        }
        continue;
      }

      // 2. Header.
      if (buf.length < FRAME_HEADER_BYTES) {
        this.need = FRAME_HEADER_BYTES;
        continue;
      }
      const version = buf[4]!;
      const type = buf[5]!;
      const length = buf.readUInt32BE(6);
      if (version !== PROTOCOL_VERSION) {
        this.stats.badVersion++;
        this.resync('bad-version', `version ${version}, expected ${PROTOCOL_VERSION}`);
        continue;
      }
      if (length > this.maxPayloadBytes) {
        this.stats.oversized++;
        this.resync('oversized', `declared payload of ${length} bytes exceeds limit ${this.maxPayloadBytes}`);
        continue;
      }
      const frameBytes = FRAME_OVERHEAD_BYTES + length;
      if (buf.length < frameBytes) {
        this.need = frameBytes;
        continue;
      }

      // 3. CRC over version, type, length and payload.
      const end = FRAME_HEADER_BYTES + length;
      const expected = buf.readUInt32BE(end);
      const actual = crc32(buf.subarray(MARKER_BYTES, end));
      if (actual !== expected) {
        this.stats.crcErrors++;
        this.resync('crc', `type ${type}, ${length}-byte payload: crc ${hex32(actual)} != ${hex32(expected)}`);
        continue;
      }

      // 4. A well-formed frame: decode it, or skip exactly this frame.
      this.searching = false;
      this.need = MARKER_BYTES;
      const payload = buf.subarray(FRAME_HEADER_BYTES, end);
      let msg: Message;
      try {
        msg = decodePayload(type, payload);
      } catch (e) {
        this.skip(frameBytes, true);
        if (e instanceof ProtocolError && e.kind === 'unknown-type') {
          this.stats.unknownType++;
          this.report('unknown-type', e.message);
        } else {
          this.stats.decodeErrors++;
          this.report('decode', e instanceof Error ? e.message : String(e));
        }
        continue;
      }
      this.skip(frameBytes, false);
      this.stats.framesOk++;
      out.push(msg);
    }
  }

  /** Drops the first byte (inside a bad marker) and searches for the next marker. */
  private resync(kind: FrameErrorKind, detail: string): void {
    this.stats.resyncs++;
    this.searching = true;
    this.skip(1, true);
    this.need = MARKER_BYTES;
    this.report(kind, detail);
  }

  private report(kind: FrameErrorKind, detail: string): void {
    this.onError?.({ kind, detail });
  }

  /** The first chunk, merged with following chunks until it holds at least `n` bytes (n <= total). */
  private front(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    let len = 0;
    let k = 0;
    while (len < n) len += this.chunks[k++]!.length;
    const merged = Buffer.concat(this.chunks.slice(0, k), len);
    this.chunks.splice(0, k, merged);
    return merged;
  }

  /** Removes `n` bytes from the front (views, no copies). */
  private skip(n: number, counted: boolean): void {
    if (counted) this.stats.bytesSkipped += n;
    this.total -= n;
    while (n > 0) {
      const first = this.chunks[0]!;
      if (first.length <= n) {
        n -= first.length;
        this.chunks.shift();
      } else {
        this.chunks[0] = first.subarray(n);
        n = 0;
      }
    }
  }
}

function hex32(v: number): string {
  return v.toString(16).padStart(8, '0');
}
