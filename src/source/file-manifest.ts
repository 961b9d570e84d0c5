// The file side of publishing: cuts a file into pieces, hashes each (SHA-256) and builds the manifest
// and content id — with the film's playing time when the file is MPEG-TS with timestamps at both
// ends (ts-span.ts: a box playing it while it downloads then tells the player without reading the
// file's end); checks an existing file against a manifest. Synchronous reads, one piece buffer.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { badName, choosePieceBytes, encodeManifest, PIECE_HASH_BYTES, pieceCountOf, pieceLength, type Manifest } from '../protocol/manifest.js';
import { contentIdOf, pieceMatches, sha256 } from './piece-verifier.js';
import { SPAN_PROBE_BYTES, tsDurationMs } from './ts-span.js';

export interface BuiltManifest {
  manifest: Manifest;
  manifestBytes: Buffer;
  contentId: string;
}

/** Reads exactly `length` bytes at `position` into `buf` (short only at end of file). */
export function readFully(fd: number, buf: Buffer, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Hashes the file at `path` into a manifest. Throws Error with a clear message on bad input. */
export function buildFileManifest(path: string, preferredPieceBytes: number, name = basename(path)): BuiltManifest {
  const nameProblem = badName(name);
  if (nameProblem) throw new Error(`cannot publish ${JSON.stringify(name)}: ${nameProblem}`);
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`${path} is not a regular file`);
    const pieceBytes = choosePieceBytes(st.size, preferredPieceBytes);
    if (typeof pieceBytes === 'string') throw new Error(`cannot publish ${path}: ${pieceBytes}`);
    const pieceCount = pieceCountOf(st.size, pieceBytes);
    const pieceHashes = new Uint8Array(pieceCount * PIECE_HASH_BYTES);
    const buf = Buffer.allocUnsafe(pieceBytes);
    const shape = { sizeBytes: st.size, pieceBytes, pieceCount };
    for (let i = 0; i < pieceCount; i++) {
      const len = pieceLength(shape, i);
      if (readFully(fd, buf, len, i * pieceBytes) !== len) throw new Error(`${path} changed while it was being read`);
      pieceHashes.set(sha256(buf.subarray(0, len)), i * PIECE_HASH_BYTES);
    }
    const durationMs = mpegTsDuration(fd, st.size);
    const manifest: Manifest = { name, sizeBytes: st.size, pieceBytes, pieceCount, pieceHashes, ...(durationMs !== undefined ? { durationMs } : {}) };
    const manifestBytes = encodeManifest(manifest);
    return { manifest, manifestBytes, contentId: contentIdOf(manifestBytes) };
  } finally {
    closeSync(fd);
  }
}

/** An MPEG-TS file's playing time (ms) from its two ends; undefined for anything else. */
function mpegTsDuration(fd: number, size: number): number | undefined {
  if (size < 2 * SPAN_PROBE_BYTES) return undefined;
  const head = Buffer.allocUnsafe(SPAN_PROBE_BYTES);
  const tail = Buffer.allocUnsafe(SPAN_PROBE_BYTES);
  if (readFully(fd, head, SPAN_PROBE_BYTES, 0) !== SPAN_PROBE_BYTES) return undefined;
  if (readFully(fd, tail, SPAN_PROBE_BYTES, size - SPAN_PROBE_BYTES) !== SPAN_PROBE_BYTES) return undefined;
  return tsDurationMs(head, tail);
}

/** How many pieces of the file at `path` match the manifest (size must match exactly, else 0). */
export function matchingPieces(path: string, manifest: Manifest): number {
  const fd = openSync(path, 'r');
  try {
    if (fstatSync(fd).size !== manifest.sizeBytes) return 0;
    const buf = Buffer.allocUnsafe(manifest.pieceBytes);
    let ok = 0;
    for (let i = 0; i < manifest.pieceCount; i++) {
      const len = pieceLength(manifest, i);
      if (readFully(fd, buf, len, i * manifest.pieceBytes) === len && pieceMatches(manifest, i, buf.subarray(0, len))) ok++;
    }
    return ok;
  } finally {
    closeSync(fd);
  }
}
