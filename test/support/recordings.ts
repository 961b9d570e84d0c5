// Checking a node's recording against what the source published: the source's chunks are
// recomputed from the input file with the same chunker (chunking is deterministic), and a
// recording must be exactly a run of consecutive chunks (or chunks with gaps where the node
// skipped one, which the test counts).
import { readFileSync } from 'node:fs';
import { TsChunker } from '../../src/source/ts-chunker.js';

export interface SourceChunk {
  seq: number;
  data: Buffer;
}

export function sourceChunks(path: string, chunkMs: number): SourceChunk[] {
  const bytes = readFileSync(path);
  const chunker = new TsChunker({ chunkMs });
  const out: SourceChunk[] = [];
  for (let off = 0; off < bytes.length; off += 64 * 1024) {
    for (const c of chunker.push(bytes.subarray(off, off + 64 * 1024))) out.push({ seq: c.seq, data: Buffer.from(c.data) });
  }
  for (const c of chunker.flush()) out.push({ seq: c.seq, data: Buffer.from(c.data) });
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
