// Which of a live channel's chunks a phone's playlist lists, and how (see hls-playlist.ts). Pure: it
// reads the chunk buffer (src/engine/chunk-buffer.ts) and each chunk's first PTS, nothing else.
//
// - The window ends at the live edge the box has: the newest chunk, unless a chunk among the last
//   EDGE_HOLE_MS of chunks is still missing (it may be on its way from a partner): it then ends before
//   that hole, so a phone is never sent a playlist whose next segment is about to appear. An older
//   hole is listed as a gap (EXT-X-GAP) — the TV skipped it too.
// - A segment is SEGMENT_MS of consecutive chunks (segment n = chunks n×k .. n×k+k−1), so that each
//   holds whole frames of audio and video even when chunks are short; a segment with a chunk missing
//   or not playable is a gap.
// - It spans WINDOW_MS of segments back from its end (RFC 8216 asks for more than three target
//   durations), never below the buffer's base, and never starts at a gap.
// - Durations come from the media clock (next segment's first PTS − this one's), else the nominal
//   segment length. A segment whose first PTS does not follow the previous listed segment's (backwards, or
//   more than DISCONTINUITY_SLACK_MS beyond the expected media time) is a discontinuity.
// - Each chunk's PTS is read once (a scan of its first packets) and kept per id while in the buffer.
import type { ChunkRecord } from '../engine/chunk-buffer.js';
import { parsePesHeader, parseTsPacket, PTS_TICKS_PER_MS, TIMESTAMP_WRAP_90KHZ, TS_PACKET_SIZE } from '../source/ts-packets.js';
import type { HlsSegment } from './hls-playlist.js';

/** Media a segment holds: this many ms of chunks (one chunk when chunks are this long or longer). */
export const SEGMENT_MS = 1000;
/** Media a live playlist lists. */
export const WINDOW_MS = 10_000;
/** A missing chunk this close to the newest one may still arrive: the playlist ends before it. */
export const EDGE_HOLE_MS = 2_000;
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

/** The media clock went backwards, or further than `expectedMs` (plus the slack) forwards. */
function clockJumps(fromPtsMs: number, toPtsMs: number, expectedMs: number): boolean {
  const d = ptsDiffMs(fromPtsMs, toPtsMs);
  return d < 0 || d > expectedMs + DISCONTINUITY_SLACK_MS;
}

/** One channel's playlist windows; keep one per channel (it caches PTS and counts discontinuities). */
export class HlsWindow {
  private readonly pts = new Map<number, { data: Uint8Array; ptsMs: number | undefined }>();
  /** Segments that begin a discontinuity. */
  private readonly discontinuities = new Set<number>();
  /** Discontinuities below the buffer that were forgotten (still counted). */
  private forgotten = 0;
  /** Chunks per segment, the segment's nominal duration, segments a playlist lists. */
  readonly perSegment: number;
  readonly segmentMs: number;
  readonly windowSegments: number;
  private readonly edgeHoleChunks: number;

  constructor(private readonly chunkMs: number) {
    if (!(chunkMs > 0)) throw new RangeError(`chunkMs must be positive, got ${chunkMs}`);
    this.perSegment = Math.max(1, Math.round(SEGMENT_MS / chunkMs));
    this.segmentMs = this.perSegment * chunkMs;
    this.windowSegments = Math.max(1, Math.ceil(WINDOW_MS / this.segmentMs));
    this.edgeHoleChunks = Math.max(1, Math.ceil(EDGE_HOLE_MS / chunkMs));
  }

  /** The chunk ids segment `seq` is made of, in order. */
  chunksOf(seq: number): number[] {
    return Array.from({ length: this.perSegment }, (_, i) => seq * this.perSegment + i);
  }

  build(buf: ChunkSource, mediaOf: MediaOf): LiveWindow {
    this.forget(buf.base);
    const newest = buf.newest;
    if (newest === undefined) return { segments: [], discontinuitySequence: this.forgotten };
    let endChunk = newest;
    for (let id = Math.max(buf.base, newest - this.edgeHoleChunks + 1); id <= newest; id++) {
      if (!buf.get(id)) {
        endChunk = id - 1;
        break;
      }
    }
    // The last segment whose chunks have all reached the edge, the first whose chunks are all in the buffer.
    const end = Math.floor((endChunk + 1) / this.perSegment) - 1;
    let start = Math.max(Math.ceil(buf.base / this.perSegment), end - this.windowSegments + 1);
    while (start <= end && this.segmentMedia(buf, start, mediaOf) === undefined) start++;
    const segments: HlsSegment[] = [];
    let prev: { seq: number; ptsMs: number } | undefined;
    for (let seq = start; seq <= end; seq++) {
      const m = this.segmentMedia(buf, seq, mediaOf);
      if (!m) {
        segments.push({ seq, durationMs: this.segmentMs, discontinuity: false, gap: true });
        continue;
      }
      let discontinuity = this.discontinuities.has(seq);
      if (m.ptsMs !== undefined && prev) {
        if (clockJumps(prev.ptsMs, m.ptsMs, (seq - prev.seq) * this.segmentMs)) discontinuity = true;
      }
      if (discontinuity) this.discontinuities.add(seq);
      const next = seq < end ? this.segmentMedia(buf, seq + 1, mediaOf) : undefined;
      const d = m.ptsMs !== undefined && next?.ptsMs !== undefined ? ptsDiffMs(m.ptsMs, next.ptsMs) : undefined;
      const durationMs = d !== undefined && d > 0 && d <= 3 * this.segmentMs ? d : this.segmentMs;
      segments.push({ seq, durationMs, createdMs: m.createdMs, discontinuity, gap: false });
      if (m.ptsMs !== undefined) prev = { seq, ptsMs: m.ptsMs };
    }
    let discontinuitySequence = this.forgotten;
    const first = segments[0]?.seq ?? end + 1;
    for (const s of this.discontinuities) if (s <= first) discontinuitySequence++;
    return { segments, discontinuitySequence };
  }

  /**
   * A segment this phone can play: every chunk held and playable, and no clock jump inside it (a
   * source that looped or jumped mid-segment makes it a gap; the next segment starts the
   * discontinuity). Its PTS is its first chunk's that has one.
   */
  private segmentMedia(buf: ChunkSource, seq: number, mediaOf: MediaOf): { ptsMs: number | undefined; createdMs: number } | undefined {
    let ptsMs: number | undefined;
    let last: { id: number; ptsMs: number } | undefined;
    let createdMs = 0;
    for (const id of this.chunksOf(seq)) {
      const chunk = buf.get(id);
      const m = chunk ? this.media(buf, id, mediaOf) : undefined;
      if (!chunk || !m) return undefined;
      if (id === seq * this.perSegment) createdMs = chunk.timestampMs;
      if (m.ptsMs === undefined) continue;
      if (last) {
        if (clockJumps(last.ptsMs, m.ptsMs, (id - last.id) * this.chunkMs)) return undefined;
      }
      ptsMs ??= m.ptsMs;
      last = { id, ptsMs: m.ptsMs };
    }
    return { ptsMs, createdMs };
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
    for (const id of this.pts.keys()) if (id < base) this.pts.delete(id);
    const firstSegment = Math.ceil(base / this.perSegment);
    for (const seq of this.discontinuities) {
      if (seq < firstSegment) {
        this.discontinuities.delete(seq);
        this.forgotten++;
      }
    }
  }
}
