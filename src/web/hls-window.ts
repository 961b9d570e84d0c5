// Which of a live channel's chunks a phone's playlist lists, and how (see hls-playlist.ts). Pure: it
// reads the chunk buffer (src/engine/chunk-buffer.ts) and each chunk's first PTS, nothing else.
//
// - The window ends at the live edge the box has: the newest chunk, unless a chunk among the last
//   EDGE_HOLE_CHUNKS is still missing (it may be on its way from a partner): it then ends before that
//   hole, so a phone is never sent a playlist whose next segment is about to appear. An older hole is
//   listed as a gap (EXT-X-GAP) — the TV skipped it too.
// - It starts WINDOW_SEGMENTS before its end, never below the buffer's base, and never at a gap.
// - Durations come from the media clock (next chunk's first PTS − this one's), else the nominal
//   chunk length. A chunk whose first PTS does not follow the previous listed chunk's (backwards, or
//   more than DISCONTINUITY_SLACK_MS beyond the expected media time) is a discontinuity.
// - Each chunk's PTS is read once (a scan of its first packets) and kept per id while in the buffer.
import type { ChunkRecord } from '../engine/chunk-buffer.js';
import { parsePesHeader, parseTsPacket, PTS_TICKS_PER_MS, TIMESTAMP_WRAP_90KHZ, TS_PACKET_SIZE } from '../source/ts-packets.js';
import type { HlsSegment } from './hls-playlist.js';

export const WINDOW_SEGMENTS = 10;
export const EDGE_HOLE_CHUNKS = 2;
export const DISCONTINUITY_SLACK_MS = 3000;
/** Packets of a chunk searched for a video PES start with a PTS. */
const PTS_SCAN_PACKETS = 2048;

/** What the window reads of a chunk buffer. */
export interface ChunkSource {
  readonly base: number;
  readonly newest: number | undefined;
  get(id: number): ChunkRecord | undefined;
}

/** What a phone may have of a chunk: a protected chunk without rights is not playable (a gap). */
export interface MediaOf {
  playable(chunk: ChunkRecord): boolean;
  /** The chunk's MPEG-TS bytes for a playable chunk (decrypted when protected). */
  bytes(chunk: ChunkRecord): Uint8Array | undefined;
}

export interface LiveWindow {
  segments: HlsSegment[];
  discontinuitySequence: number;
}

/** First PTS (ms, media clock) of a video PES in `ts`, else of any PES; undefined when none. */
export function firstPtsMs(ts: Uint8Array): number | undefined {
  let any: number | undefined;
  const packets = Math.min(Math.floor(ts.length / TS_PACKET_SIZE), PTS_SCAN_PACKETS);
  for (let i = 0; i < packets; i++) {
    const h = parseTsPacket(ts, i * TS_PACKET_SIZE);
    if (!h?.payloadUnitStart || !h.hasPayload) continue;
    const pes = parsePesHeader(ts.subarray(i * TS_PACKET_SIZE + h.payloadOffset, (i + 1) * TS_PACKET_SIZE));
    if (pes?.pts === undefined) continue;
    if (pes.streamId >= 0xe0 && pes.streamId <= 0xef) return pes.pts / PTS_TICKS_PER_MS;
    any ??= pes.pts / PTS_TICKS_PER_MS;
  }
  return any;
}

/** b − a in ms on the 33-bit 90 kHz clock (a wrap between them is not a jump). */
function ptsDiffMs(a: number, b: number): number {
  const wrapMs = TIMESTAMP_WRAP_90KHZ / PTS_TICKS_PER_MS;
  let d = (b - a) % wrapMs;
  if (d > wrapMs / 2) d -= wrapMs;
  if (d < -wrapMs / 2) d += wrapMs;
  return d;
}

/** One channel's playlist windows; keep one per channel (it caches PTS and counts discontinuities). */
export class HlsWindow {
  private readonly pts = new Map<number, { data: Uint8Array; ptsMs: number | undefined }>();
  private readonly discontinuities = new Set<number>();
  /** Discontinuities below the buffer that were forgotten (still counted). */
  private forgotten = 0;

  constructor(private readonly chunkMs: number) {
    if (!(chunkMs > 0)) throw new RangeError(`chunkMs must be positive, got ${chunkMs}`);
  }

  build(buf: ChunkSource, mediaOf: MediaOf): LiveWindow {
    this.forget(buf.base);
    const newest = buf.newest;
    if (newest === undefined) return { segments: [], discontinuitySequence: this.forgotten };
    let end = newest;
    for (let id = Math.max(buf.base, newest - EDGE_HOLE_CHUNKS + 1); id <= newest; id++) {
      if (!buf.get(id)) {
        end = id - 1;
        break;
      }
    }
    let start = Math.max(buf.base, end - WINDOW_SEGMENTS + 1);
    while (start <= end && this.media(buf, start, mediaOf) === undefined) start++;
    const segments: HlsSegment[] = [];
    let prev: { seq: number; ptsMs: number } | undefined;
    for (let seq = start; seq <= end; seq++) {
      const chunk = buf.get(seq);
      const m = chunk ? this.media(buf, seq, mediaOf) : undefined;
      if (!chunk || !m) {
        segments.push({ seq, durationMs: this.chunkMs, discontinuity: false, gap: true });
        continue;
      }
      let discontinuity = this.discontinuities.has(seq);
      if (m.ptsMs !== undefined && prev) {
        const d = ptsDiffMs(prev.ptsMs, m.ptsMs);
        if (d < 0 || d > (seq - prev.seq) * this.chunkMs + DISCONTINUITY_SLACK_MS) discontinuity = true;
      }
      if (discontinuity) this.discontinuities.add(seq);
      const next = buf.get(seq + 1) ? this.media(buf, seq + 1, mediaOf) : undefined;
      const d = m.ptsMs !== undefined && next?.ptsMs !== undefined ? ptsDiffMs(m.ptsMs, next.ptsMs) : undefined;
      const durationMs = d !== undefined && d > 0 && d <= 3 * this.chunkMs ? d : this.chunkMs;
      segments.push({ seq, durationMs, createdMs: chunk.timestampMs, discontinuity, gap: false });
      if (m.ptsMs !== undefined) prev = { seq, ptsMs: m.ptsMs };
    }
    let discontinuitySequence = this.forgotten;
    const first = segments[0]?.seq ?? end + 1;
    for (const s of this.discontinuities) if (s <= first) discontinuitySequence++;
    return { segments, discontinuitySequence };
  }

  /** The chunk's media bytes (for this phone) and first PTS, read once per chunk. */
  private media(buf: ChunkSource, seq: number, mediaOf: MediaOf): { ptsMs: number | undefined } | undefined {
    const chunk = buf.get(seq);
    if (!chunk) return undefined;
    if (!mediaOf.playable(chunk)) return undefined;
    const known = this.pts.get(seq);
    if (known && known.data === chunk.data) return known;
    const bytes = mediaOf.bytes(chunk);
    if (bytes === undefined) return undefined;
    const entry = { data: chunk.data, ptsMs: firstPtsMs(bytes) };
    this.pts.set(seq, entry);
    return entry;
  }

  private forget(base: number): void {
    for (const seq of this.pts.keys()) if (seq < base) this.pts.delete(seq);
    for (const seq of this.discontinuities) {
      if (seq < base) {
        this.discontinuities.delete(seq);
        this.forgotten++;
      }
    }
  }
}
