// HLS media playlists for phones (RFC 8216), built from a live channel's chunks: one chunk = one
// segment, as is (chunks are keyframe-aligned MPEG-TS, each starting with a PAT and a PMT). Pure.
//
// Live playlist: EXT-X-MEDIA-SEQUENCE = the first listed chunk's id (segment URI `<id>.ts`), so the
// sequence numbers are the chunk ids. A chunk the box does not have (skipped, never arrived) is listed
// with EXT-X-GAP, keeping the numbering. EXT-X-DISCONTINUITY precedes a chunk whose media clock does
// not follow the previous one (the source looped or its clock jumped). EXT-X-PROGRAM-DATE-TIME (the
// chunk's creation time at the source) heads the window and follows every discontinuity or gap.
// EXT-X-TARGETDURATION = ceil of the longest listed duration, in seconds.

export interface HlsSegment {
  /** Chunk id = media sequence number. */
  seq: number;
  durationMs: number;
  /** When the source made the chunk (ms since the epoch); undefined for a gap. */
  createdMs?: number;
  /** The media clock does not follow the previous segment. */
  discontinuity: boolean;
  /** The box does not have this chunk: listed as EXT-X-GAP. */
  gap: boolean;
}

export interface LivePlaylistOptions {
  /** The segment's URI (relative to the playlist). Default `<seq>.ts`. */
  uri?: (seq: number) => string;
  /** The channel ended: EXT-X-ENDLIST. */
  ended?: boolean;
  /**
   * Discontinuities at or before the first listed segment since the channel began here
   * (EXT-X-DISCONTINUITY-SEQUENCE; a first segment's own discontinuity is counted here, not tagged).
   */
  discontinuitySequence?: number;
}

/** EXT-X-TARGETDURATION for these segments: ceil of the longest, at least 1 s. */
export function targetDurationS(segments: readonly HlsSegment[]): number {
  let max = 1000;
  for (const s of segments) if (s.durationMs > max) max = s.durationMs;
  return Math.ceil(max / 1000);
}

/**
 * The live media playlist of `segments` (consecutive seqs, ascending). Throws when they are not
 * consecutive: media sequence numbers must then be the chunk ids, and a hole has to be a gap segment.
 */
export function livePlaylist(segments: readonly HlsSegment[], opts: LivePlaylistOptions = {}): string {
  for (let i = 1; i < segments.length; i++) {
    if (segments[i]!.seq !== segments[i - 1]!.seq + 1) throw new RangeError(`playlist segments must be consecutive chunk ids: ${segments[i - 1]!.seq} then ${segments[i]!.seq}`);
  }
  const uri = opts.uri ?? ((seq: number) => `${seq}.ts`);
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${targetDurationS(segments)}`, `#EXT-X-MEDIA-SEQUENCE:${segments[0]?.seq ?? 0}`];
  if (opts.discontinuitySequence) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${opts.discontinuitySequence}`);
  let dateDue = true;
  for (const s of segments) {
    if (s.discontinuity && s !== segments[0]) {
      lines.push('#EXT-X-DISCONTINUITY');
      dateDue = true;
    }
    if (s.gap) {
      dateDue = true;
    } else if (dateDue && s.createdMs !== undefined) {
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.createdMs).toISOString()}`);
      dateDue = false;
    }
    lines.push(`#EXTINF:${(s.durationMs / 1000).toFixed(3)},`);
    if (s.gap) lines.push('#EXT-X-GAP');
    lines.push(uri(s.seq));
  }
  if (opts.ended) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}
