// The manifest of a download content: what a node needs to verify every piece of a file without
// trusting anyone. Its canonical binary form is hashed (SHA-256, outside this pure module) into the
// content id `dl-<64 hex>`, so a manifest received from any peer is checked against the id the user
// asked for, and each piece against its hash in the manifest.
//
// Layout (all integers unsigned big-endian; see docs/protocol.md):
//   magic "SDMF" | version u8 = 1 or 2 | hash u8 = 1 (SHA-256) | name str16 | sizeBytes u48 |
//   pieceBytes u32 | pieceCount u32 | [version 2: durationMs u32] | pieceCount × 32-byte piece hashes
// Version 2 adds the media's playing time (a film: a player told it need not read the file's end
// to learn it); a manifest without one is written as version 1, so such content keeps its id.
// No trailing bytes. Pure: no I/O, no crypto.
import { ProtocolError } from './errors.js';
import { WireLimits } from './messages.js';
import { BufferReader, BufferWriter } from './wire-buffer.js';

export const MANIFEST_MAGIC = 'SDMF';
/** The version written for a manifest without a duration (and read by every box). */
export const MANIFEST_VERSION = 1;
/** The version written for a manifest with the media's duration. */
export const MANIFEST_VERSION_DURATION = 2;
/** Longest duration a manifest carries (u32 ms: 49 days). */
export const MAX_DURATION_MS = 0xffffffff;
/** Hash algorithm code: 1 = SHA-256 of each piece. */
export const HASH_SHA256 = 1;
export const PIECE_HASH_BYTES = 32;
/** Pieces per content: one BufferMapInfo (≤ 65 536 bits) describes them all. */
export const MAX_PIECES = WireLimits.maxBufferMapBits;
/** Smallest and largest piece size (powers of two). The largest stays well under the 4 MiB frame limit. */
export const MIN_PIECE_BYTES = 16 * 1024;
export const MAX_PIECE_BYTES = 2 * 1024 * 1024;
/**
 * Piece size by file size (a publisher that names none): AUTO_MIN_PIECE_BYTES, doubled until the file
 * is at most AUTO_MAX_PIECES pieces. Small pieces start playback sooner: a player's first reads (the
 * start, the last 250,000 bytes) span several pieces that several partners send at once, and a
 * 64 KiB piece crosses a 3 Mbit/s uplink in 0.17 s (a 256 KiB one in 0.7 s). The cap bounds what
 * grows with the count: the manifest (32 bytes a piece: 128 KiB at 4,096) and the buffer map
 * (512 bytes).
 */
export const AUTO_MIN_PIECE_BYTES = 64 * 1024;
export const AUTO_MAX_PIECES = 4096;
/** Longest file name in a manifest (UTF-8 bytes). */
export const MAX_NAME_BYTES = 255;
/** Largest file: u48 sizes, and at most MAX_PIECES pieces of MAX_PIECE_BYTES. */
export const MAX_FILE_BYTES = MAX_PIECES * MAX_PIECE_BYTES;

const HEADER_FIXED_BYTES = 4 + 1 + 1 + 2 + 6 + 4 + 4;

export interface Manifest {
  /** File name (no directory), as the publisher's file was called. */
  name: string;
  sizeBytes: number;
  pieceBytes: number;
  pieceCount: number;
  /** pieceCount × 32 bytes: SHA-256 of each piece, in order. */
  pieceHashes: Uint8Array;
  /** The media's playing time (ms), when the publisher found one (an MPEG-TS film); version 2. */
  durationMs?: number;
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** Pieces of a file of `sizeBytes` cut into `pieceBytes` pieces (the last may be shorter). */
export function pieceCountOf(sizeBytes: number, pieceBytes: number): number {
  return Math.ceil(sizeBytes / pieceBytes);
}

/** Length of piece `index` (the last piece holds the remainder). */
export function pieceLength(m: Pick<Manifest, 'sizeBytes' | 'pieceBytes' | 'pieceCount'>, index: number): number {
  if (index < 0 || index >= m.pieceCount) return 0;
  return index === m.pieceCount - 1 ? m.sizeBytes - index * m.pieceBytes : m.pieceBytes;
}

/** The hash of piece `index` (a view into pieceHashes). */
export function pieceHash(m: Manifest, index: number): Uint8Array {
  return m.pieceHashes.subarray(index * PIECE_HASH_BYTES, (index + 1) * PIECE_HASH_BYTES);
}

/**
 * The piece size for a file: `preferred` (a power of two in range), doubled until the file fits in
 * MAX_PIECES pieces; `preferred` 0 = by file size (AUTO_MIN_PIECE_BYTES, AUTO_MAX_PIECES). Returns a
 * reason string when no piece size fits the file.
 */
export function choosePieceBytes(sizeBytes: number, preferred = 0): number | string {
  const auto = preferred === 0;
  if (!auto && (!isPowerOfTwo(preferred) || preferred < MIN_PIECE_BYTES || preferred > MAX_PIECE_BYTES)) {
    return `piece size ${preferred} must be 0 (by file size) or a power of two between ${MIN_PIECE_BYTES} and ${MAX_PIECE_BYTES} bytes`;
  }
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 1) return 'an empty file cannot be published';
  if (sizeBytes > MAX_FILE_BYTES) return `file of ${sizeBytes} bytes exceeds the largest supported size (${MAX_FILE_BYTES} bytes)`;
  let p = auto ? AUTO_MIN_PIECE_BYTES : preferred;
  const most = auto ? AUTO_MAX_PIECES : MAX_PIECES;
  while (pieceCountOf(sizeBytes, p) > most && p < MAX_PIECE_BYTES) p *= 2;
  while (pieceCountOf(sizeBytes, p) > MAX_PIECES) p *= 2;
  return p;
}

/** Why a file name cannot stand in a manifest (undefined when it can). */
export function badName(name: string): string | undefined {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..') return 'name must be a plain file name';
  if (/[/\\\u0000]/.test(name)) return 'name must not contain /, \\ or NUL';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `name longer than ${MAX_NAME_BYTES} UTF-8 bytes`;
  return undefined;
}

/** Problems of a manifest value (empty when it can be encoded and used). */
export function manifestProblems(m: Manifest): string[] {
  const out: string[] = [];
  const nameProblem = badName(m.name);
  if (nameProblem) out.push(`name: ${nameProblem}`);
  if (!isPowerOfTwo(m.pieceBytes) || m.pieceBytes < MIN_PIECE_BYTES || m.pieceBytes > MAX_PIECE_BYTES) {
    out.push(`pieceBytes: ${m.pieceBytes} is not a power of two in [${MIN_PIECE_BYTES}, ${MAX_PIECE_BYTES}]`);
  }
  if (!Number.isSafeInteger(m.sizeBytes) || m.sizeBytes < 1 || m.sizeBytes > MAX_FILE_BYTES) out.push(`sizeBytes: ${m.sizeBytes} out of range`);
  else if (out.length === 0 && m.pieceCount !== pieceCountOf(m.sizeBytes, m.pieceBytes)) {
    out.push(`pieceCount: ${m.pieceCount}, but ${m.sizeBytes} bytes in ${m.pieceBytes}-byte pieces make ${pieceCountOf(m.sizeBytes, m.pieceBytes)}`);
  }
  if (!Number.isSafeInteger(m.pieceCount) || m.pieceCount < 1 || m.pieceCount > MAX_PIECES) out.push(`pieceCount: ${m.pieceCount} out of range`);
  if (!(m.pieceHashes instanceof Uint8Array) || m.pieceHashes.length !== m.pieceCount * PIECE_HASH_BYTES) {
    out.push(`pieceHashes: expected ${m.pieceCount * PIECE_HASH_BYTES} bytes`);
  }
  if (m.durationMs !== undefined && (!Number.isSafeInteger(m.durationMs) || m.durationMs < 1 || m.durationMs > MAX_DURATION_MS)) {
    out.push(`durationMs: ${m.durationMs} is not a whole number of ms from 1 to ${MAX_DURATION_MS}`);
  }
  return out;
}

/** The canonical bytes of a manifest (what the content id hashes). Throws RangeError when invalid. */
export function encodeManifest(m: Manifest): Buffer {
  const problems = manifestProblems(m);
  if (problems.length > 0) throw new RangeError(`invalid manifest: ${problems.join('; ')}`);
  const nameBytes = Buffer.byteLength(m.name, 'utf8');
  const timed = m.durationMs !== undefined;
  const w = new BufferWriter(HEADER_FIXED_BYTES + (timed ? 4 : 0) + nameBytes + m.pieceHashes.length);
  for (const c of MANIFEST_MAGIC) w.u8('magic', c.charCodeAt(0));
  w.u8('version', timed ? MANIFEST_VERSION_DURATION : MANIFEST_VERSION);
  w.u8('hash', HASH_SHA256);
  w.str16('name', m.name, MAX_NAME_BYTES);
  w.u48('sizeBytes', m.sizeBytes);
  w.u32('pieceBytes', m.pieceBytes);
  w.u32('pieceCount', m.pieceCount);
  if (timed) w.u32('durationMs', m.durationMs as number);
  w.raw(m.pieceHashes);
  return w.finish();
}

/**
 * Decodes and validates manifest bytes. Throws ProtocolError naming the field for anything wrong
 * (bad magic, unknown version or hash, sizes that disagree, trailing bytes).
 */
export function decodeManifest(bytes: Uint8Array): Manifest {
  if (bytes.length > WireLimits.maxManifestBytes) {
    throw new ProtocolError('too-long', 'Manifest', `${bytes.length} bytes exceeds limit ${WireLimits.maxManifestBytes}`);
  }
  const r = new BufferReader(bytes);
  let magic = '';
  for (let i = 0; i < 4; i++) magic += String.fromCharCode(r.u8('Manifest.magic'));
  if (magic !== MANIFEST_MAGIC) throw new ProtocolError('bad-value', 'Manifest.magic', `not a manifest (magic ${JSON.stringify(magic)})`);
  const version = r.u8('Manifest.version');
  if (version !== MANIFEST_VERSION && version !== MANIFEST_VERSION_DURATION) throw new ProtocolError('bad-value', 'Manifest.version', `unsupported manifest version ${version}`);
  const hash = r.u8('Manifest.hash');
  if (hash !== HASH_SHA256) throw new ProtocolError('bad-value', 'Manifest.hash', `unsupported hash algorithm ${hash}`);
  const name = r.str16('Manifest.name', MAX_NAME_BYTES);
  const sizeBytes = r.u48('Manifest.sizeBytes');
  const pieceBytes = r.u32('Manifest.pieceBytes');
  const pieceCount = r.u32('Manifest.pieceCount');
  if (pieceCount > MAX_PIECES) throw new ProtocolError('too-long', 'Manifest.pieceCount', `${pieceCount} exceeds limit ${MAX_PIECES}`);
  const durationMs = version === MANIFEST_VERSION_DURATION ? r.u32('Manifest.durationMs') : undefined;
  const hashBytes = pieceCount * PIECE_HASH_BYTES;
  if (r.remaining < hashBytes) {
    throw new ProtocolError('truncated', 'Manifest.pieceHashes', `needs ${hashBytes} bytes, only ${r.remaining} left`);
  }
  if (r.remaining > hashBytes) {
    throw new ProtocolError('trailing-bytes', 'Manifest', `${r.remaining - hashBytes} unexpected bytes after the last field`);
  }
  const pieceHashes = Uint8Array.from(bytes.subarray(bytes.length - hashBytes));
  const m: Manifest = { name, sizeBytes, pieceBytes, pieceCount, pieceHashes, ...(durationMs !== undefined ? { durationMs } : {}) };
  const problems = manifestProblems(m);
  if (problems.length > 0) throw new ProtocolError('bad-value', 'Manifest', problems.join('; '));
  return m;
}
