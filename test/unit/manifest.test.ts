import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/protocol/errors.js';
import {
  AUTO_MAX_PIECES,
  choosePieceBytes,
  decodeManifest,
  encodeManifest,
  MAX_PIECE_BYTES,
  MAX_PIECES,
  pieceCountOf,
  pieceLength,
  type Manifest,
} from '../../src/protocol/manifest.js';
import { contentIdOf, isDownloadId, pieceMatches, sha256, verifyManifest } from '../../src/source/piece-verifier.js';

const arbManifest: fc.Arbitrary<Manifest> = fc
  .record({
    name: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/[/\\\u0000]/.test(s) && s !== '.' && s !== '..'),
    pieceBytes: fc.constantFrom(16 * 1024, 256 * 1024, MAX_PIECE_BYTES),
    pieces: fc.integer({ min: 1, max: 40 }),
    tail: fc.integer({ min: 1, max: 16 * 1024 }),
    durationMs: fc.option(fc.integer({ min: 1, max: 0xffffffff }), { nil: undefined }),
  })
  .chain(({ name, pieceBytes, pieces, tail, durationMs }) => {
    const sizeBytes = (pieces - 1) * pieceBytes + Math.min(tail, pieceBytes);
    return fc.record({
      name: fc.constant(name),
      sizeBytes: fc.constant(sizeBytes),
      pieceBytes: fc.constant(pieceBytes),
      pieceCount: fc.constant(pieces),
      pieceHashes: fc.uint8Array({ minLength: pieces * 32, maxLength: pieces * 32 }),
    }).map((m) => (durationMs === undefined ? m : { ...m, durationMs }));
  });

function sample(): Manifest {
  const data = Buffer.alloc(40_000, 7);
  const hashes = Buffer.concat([sha256(data.subarray(0, 16384)), sha256(data.subarray(16384, 32768)), sha256(data.subarray(32768))]);
  return { name: 'clip.ts', sizeBytes: 40_000, pieceBytes: 16384, pieceCount: 3, pieceHashes: hashes };
}

describe('manifest', () => {
  it('decode(encode(m)) equals m, and the bytes are canonical', () => {
    fc.assert(
      fc.property(arbManifest, (m) => {
        const bytes = encodeManifest(m);
        const back = decodeManifest(bytes);
        expect({ ...back, pieceHashes: Array.from(back.pieceHashes) }).toEqual({ ...m, pieceHashes: Array.from(m.pieceHashes) });
        expect(encodeManifest(back).equals(bytes)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('a duration makes it version 2 (4 more bytes, another id); without one it is version 1 as before', () => {
    const plain = encodeManifest(sample());
    const timed = encodeManifest({ ...sample(), durationMs: 240_100 });
    expect(plain[4]).toBe(1);
    expect(timed[4]).toBe(2);
    expect(timed.length).toBe(plain.length + 4);
    expect(decodeManifest(timed).durationMs).toBe(240_100);
    expect('durationMs' in decodeManifest(plain)).toBe(false);
    expect(contentIdOf(timed)).not.toBe(contentIdOf(plain));
    expect(() => encodeManifest({ ...sample(), durationMs: 0 })).toThrow(/durationMs/);
    expect(() => encodeManifest({ ...sample(), durationMs: 1.5 })).toThrow(/durationMs/);
    // version 2 bytes cut before the duration's end: the hashes come up short
    expect(() => decodeManifest(Buffer.concat([plain.subarray(0, 4), Buffer.from([2]), plain.subarray(5)]))).toThrow(/pieceHashes/);
  });

  it('pieces: count and the short last piece', () => {
    const m = sample();
    expect(pieceCountOf(40_000, 16384)).toBe(3);
    expect([0, 1, 2, 3].map((i) => pieceLength(m, i))).toEqual([16384, 16384, 40_000 - 32768, 0]);
  });

  it('rejects bad bytes, naming the field', () => {
    const good = encodeManifest(sample());
    const bad = (mutate: (b: Buffer) => Buffer, field: string) => {
      const b = mutate(Buffer.from(good));
      let err: unknown;
      try {
        decodeManifest(b);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ProtocolError);
      expect(String((err as Error).message)).toContain(field);
    };
    bad((b) => (b.write('XXXX', 0), b), 'magic');
    bad((b) => (b.writeUInt8(9, 4), b), 'version');
    bad((b) => (b.writeUInt8(2, 5), b), 'hash');
    bad((b) => b.subarray(0, b.length - 1), 'pieceHashes');
    bad((b) => Buffer.concat([b, Buffer.from([0])]), 'unexpected bytes');
    // size that does not match the piece count
    const sizeAt = 4 + 1 + 1 + 2 + Buffer.byteLength('clip.ts');
    bad((b) => (b.writeUIntBE(100_000, sizeAt, 6), b), 'pieceCount');
  });

  it('refuses names with paths and empty files', () => {
    expect(() => encodeManifest({ ...sample(), name: '../etc/passwd' })).toThrow(/name/);
    expect(choosePieceBytes(0)).toMatch(/empty/);
    expect(choosePieceBytes(100, 1000)).toMatch(/power of two/);
  });

  it('by file size: 64 KiB pieces, doubled until the file is at most AUTO_MAX_PIECES pieces', () => {
    expect(choosePieceBytes(1)).toBe(64 * 1024);
    expect(choosePieceBytes(60_000_000)).toBe(64 * 1024);
    expect(choosePieceBytes(AUTO_MAX_PIECES * 64 * 1024)).toBe(64 * 1024);
    expect(choosePieceBytes(AUTO_MAX_PIECES * 64 * 1024 + 1)).toBe(128 * 1024);
    expect(choosePieceBytes(1_500_000_000)).toBe(512 * 1024);
    for (const size of [1, 999_999, 60_000_000, 2 ** 31, 10 * 2 ** 30]) {
      const p = choosePieceBytes(size) as number;
      expect(pieceCountOf(size, p) <= AUTO_MAX_PIECES || p === MAX_PIECE_BYTES, `${size} bytes in ${p}-byte pieces`).toBe(true);
      expect(pieceCountOf(size, p)).toBeLessThanOrEqual(MAX_PIECES);
    }
    // Past AUTO_MAX_PIECES of the largest piece, the count grows instead (up to MAX_PIECES).
    expect(choosePieceBytes(AUTO_MAX_PIECES * MAX_PIECE_BYTES + 1)).toBe(MAX_PIECE_BYTES);
  });

  it('a chosen size is doubled only until the file fits in MAX_PIECES pieces', () => {
    expect(choosePieceBytes(10_000_000, 256 * 1024)).toBe(256 * 1024);
    expect(choosePieceBytes(10_000_000, 16 * 1024)).toBe(16 * 1024);
    const size = MAX_PIECES * 256 * 1024 + 1;
    const p = choosePieceBytes(size, 256 * 1024) as number;
    expect(p).toBe(512 * 1024);
    expect(pieceCountOf(size, p)).toBeLessThanOrEqual(MAX_PIECES);
    expect(choosePieceBytes(MAX_PIECES * MAX_PIECE_BYTES + 1)).toMatch(/exceeds/);
  });
});

describe('content id', () => {
  it('is dl- and the SHA-256 of the manifest; a manifest verifies only against its own id', () => {
    const bytes = encodeManifest(sample());
    const id = contentIdOf(bytes);
    expect(isDownloadId(id)).toBe(true);
    expect(isDownloadId('live-abc')).toBe(false);
    expect(typeof verifyManifest(id, bytes)).toBe('object');
    const other = encodeManifest({ ...sample(), name: 'other.ts' });
    expect(verifyManifest(id, other)).toMatch(/hashes to dl-/);
  });

  it('pieces match only their own hash', () => {
    const m = sample();
    const data = Buffer.alloc(40_000, 7);
    expect(pieceMatches(m, 0, data.subarray(0, 16384))).toBe(true);
    expect(pieceMatches(m, 2, data.subarray(32768))).toBe(true);
    const tampered = Buffer.from(data.subarray(0, 16384));
    tampered[5] = (tampered[5] as number) ^ 1;
    expect(pieceMatches(m, 0, tampered)).toBe(false);
    expect(pieceMatches(m, 3, data.subarray(0, 16384))).toBe(false);
  });
});
