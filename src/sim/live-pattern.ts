// Simulated live chunks: data is a deterministic pattern of the chunk id, so a verifier can check a
// chunk without signatures — and a "liar" node (whose transport corrupts what it serves) is caught.
// The check samples the data (every SAMPLE_STRIDE-th byte plus the last one): cheap enough for
// thousands of nodes, and any corruption of the whole chunk is found.
import type { ChunkRecord, ChunkVerifier } from '../engine/live-ports.js';

const SAMPLE_STRIDE = 509;

function patternByte(id: number, i: number): number {
  return (Math.imul(id, 131) + Math.imul(i, 7) + (i >>> 8)) & 0xff;
}

/** The data of chunk `id` (`bytes` long). */
export function patternData(id: number, bytes: number): Uint8Array {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = patternByte(id, i);
  return data;
}

/** Accepts chunks whose data has the expected length and matches the pattern of their id. */
export class PatternVerifier implements ChunkVerifier {
  constructor(private readonly chunkBytes: number) {}

  verify(_contentId: string, chunk: ChunkRecord): boolean {
    const d = chunk.data;
    if (d.byteLength !== this.chunkBytes) return false;
    for (let i = 0; i < d.byteLength; i += SAMPLE_STRIDE) if (d[i] !== patternByte(chunk.id, i)) return false;
    const last = d.byteLength - 1;
    return last < 0 || d[last] === patternByte(chunk.id, last);
  }
}

/** What a liar serves instead of the real chunk: same size, every byte flipped. */
export function corruptData(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  for (let i = 0; i < data.byteLength; i++) out[i] = (data[i] as number) ^ 0x5a;
  return out;
}
