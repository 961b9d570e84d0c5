// Checking a node's recording against what the source published: the source's chunks are
// recomputed from the input file with the same chunker (chunking is deterministic), and a
// recording must be exactly a run of consecutive chunks (or chunks with gaps where the node
// skipped one, which the test counts).
import { readFileSync, writeFileSync } from 'node:fs';
import { TsChunker } from '../../src/source/ts-chunker.js';

export interface SourceChunk {
  seq: number;
  data: Buffer;
  /** The chunk starts with a keyframe: a decoder can start (or resume after a gap) here. */
  key: boolean;
}

export function sourceChunks(path: string, chunkMs: number): SourceChunk[] {
  const bytes = readFileSync(path);
  const chunker = new TsChunker({ chunkMs });
  const out: SourceChunk[] = [];
  for (let off = 0; off < bytes.length; off += 64 * 1024) {
    for (const c of chunker.push(bytes.subarray(off, off + 64 * 1024))) out.push({ seq: c.seq, data: Buffer.from(c.data), key: c.startsWithKeyframe });
  }
  for (const c of chunker.flush()) out.push({ seq: c.seq, data: Buffer.from(c.data), key: c.startsWithKeyframe });
  return out;
}

export interface RecordingMatch {
  /** Source chunk the recording starts with (-1 when the start matches none). */
  firstSeq: number;
  /** Chunks matched in order. */
  chunks: number;
  /** Source chunks missing between matched ones (skipped by the node). */
  gaps: number;
  /** Bytes at the end (or from the first mismatch) that match no source chunk. */
  unmatchedBytes: number;
}

/** Walks the recording chunk by chunk; every byte must belong to a source chunk, in order. */
export function matchRecording(recording: Buffer, chunks: SourceChunk[]): RecordingMatch {
  const startsWith = (off: number, c: SourceChunk) => recording.length - off >= c.data.length && recording.compare(c.data, 0, c.data.length, off, off + c.data.length) === 0;
  let idx = chunks.findIndex((c) => startsWith(0, c));
  if (idx < 0) return { firstSeq: -1, chunks: 0, gaps: 0, unmatchedBytes: recording.length };
  const firstSeq = (chunks[idx] as SourceChunk).seq;
  let off = 0;
  let matched = 0;
  let gaps = 0;
  while (off < recording.length) {
    // The next chunk, or (after a skip) one of the few after it.
    let found = -1;
    for (let k = idx; k < Math.min(chunks.length, idx + 10); k++) {
      if (startsWith(off, chunks[k] as SourceChunk)) {
        found = k;
        break;
      }
    }
    if (found < 0) break;
    gaps += found - idx;
    off += (chunks[found] as SourceChunk).data.length;
    matched++;
    idx = found + 1;
  }
  return { firstSeq, chunks: matched, gaps, unmatchedBytes: recording.length - off };
}

/** The source chunks a recording is made of, in order; throws at bytes that belong to none. */
export function recordedSeqs(rec: Buffer, chunks: readonly SourceChunk[]): number[] {
  const seqs: number[] = [];
  let off = 0;
  while (off < rec.length) {
    const c = chunks.find((k) => rec.length - off >= k.data.length && rec.compare(k.data, 0, k.data.length, off, off + k.data.length) === 0);
    if (!c) throw new Error(`recording bytes at ${off} of ${rec.length} match no source chunk (encrypted bytes reached the player?)`);
    seqs.push(c.seq);
    off += c.data.length;
  }
  return seqs;
}

/**
 * The part of a recording (a run of `seqs`) made of whole GOPs from index `from` on: from its first
 * keyframe chunk at or after `from` (where a player resumes decoding after a gap: chunks are shorter
 * than a GOP) to the start of its last keyframe chunk (a recording cut mid-GOP ends with a truncated
 * audio frame). Byte offsets into the recording.
 */
export function keyframeRun(seqs: readonly number[], chunks: readonly SourceChunk[], from: number): { start: number; end: number } {
  let offset = 0;
  let start: number | undefined;
  let end: number | undefined;
  for (let i = 0; i < seqs.length; i++) {
    const c = chunks.find((k) => k.seq === seqs[i]);
    if (!c) throw new Error(`chunk ${seqs[i]} is not a source chunk`);
    if (i >= from && c.key) {
      if (start === undefined) start = offset;
      else end = offset;
    }
    offset += c.data.length;
  }
  if (start === undefined) throw new Error(`no keyframe chunk in the recording from index ${from}`);
  return { start, end: end ?? offset };
}

/**
 * Writes the whole GOPs of the recording at `path` (keyframeRun from its start) to `path`.gops.ts,
 * for decoding what a player shows: a node joins at any chunk and its player starts at the first
 * keyframe. Returns that file and the share of the recording it holds.
 */
export function wholeGopsOf(path: string, chunks: readonly SourceChunk[]): { path: string; share: number } {
  const bytes = readFileSync(path);
  const run = keyframeRun(recordedSeqs(bytes, chunks), chunks, 0);
  const out = `${path}.gops.ts`;
  writeFileSync(out, bytes.subarray(run.start, run.end));
  return { path: out, share: bytes.length > 0 ? (run.end - run.start) / bytes.length : 0 };
}


/**
 * The whole GOPs of each gap-free run of the recording at `path` (a live node skips a chunk that
 * misses its deadline; its player resumes at the next keyframe), each written to
 * `path`.gops-K.ts for decoding on its own, and the share of the recording they hold. A decoder fed
 * across a gap reports the missing frames' references, which is the skip, not a bad byte.
 */
export function gapFreeGopsOf(path: string, chunks: readonly SourceChunk[]): { paths: string[]; share: number } {
  const bytes = readFileSync(path);
  const seqs = recordedSeqs(bytes, chunks);
  const lengthOf = (seq: number) => (chunks.find((k) => k.seq === seq) as SourceChunk).data.length;
  const paths: string[] = [];
  let covered = 0;
  let runStart = 0;
  let offset = 0;
  for (let i = 0; i <= seqs.length; i++) {
    if (i > runStart && (i === seqs.length || seqs[i] !== (seqs[i - 1] as number) + 1)) {
      const run = seqs.slice(runStart, i);
      if (run.some((s) => chunks.find((k) => k.seq === s)?.key)) {
        const base = offset - run.reduce((n, s) => n + lengthOf(s), 0);
        const r = keyframeRun(run, chunks, 0);
        const out = `${path}.gops-${paths.length}.ts`;
        writeFileSync(out, bytes.subarray(base + r.start, base + r.end));
        paths.push(out);
        covered += r.end - r.start;
      }
      runStart = i;
    }
    if (i < seqs.length) offset += lengthOf(seqs[i] as number);
  }
  return { paths, share: bytes.length > 0 ? covered / bytes.length : 0 };
}
