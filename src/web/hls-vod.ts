// On-demand HLS of a completed MPEG-TS file (a download this box seeds, or a file it publishes):
// the file is indexed once — cut where the live source would cut (src/source/ts-chunker.ts: before
// keyframes, VOD_SEGMENT_MS apart) — and each segment is served from disk as the file's bytes,
// preceded by a copy of the PAT and PMT when the cut did not start with them (as live chunks do).
// Only files that are plain MPEG-TS can be served (a packaged, encrypted .sdc file cannot).
import { createReadStream, statSync } from 'node:fs';
import { TsChunker } from '../source/ts-chunker.js';

export const VOD_SEGMENT_MS = 4000;

export interface VodSegment {
  /** Byte range of the file. */
  offset: number;
  length: number;
  durationMs: number;
  /** PAT + PMT sent before the range (empty when the range starts with them). */
  prefix: Uint8Array;
}

export interface VodIndex {
  path: string;
  sizeBytes: number;
  mtimeMs: number;
  segments: VodSegment[];
}

/** Why the file cannot be played as HLS, or undefined when it can (from its first two packets). */
export function notTsReason(head: Uint8Array): string | undefined {
  if (head.length < 376 || head[0] !== 0x47 || head[188] !== 0x47) return 'not an MPEG-TS file (a packaged file plays with superdist drm play, not in a browser)';
  return undefined;
}

/** Indexes `path` (streamed through the chunker once). Throws naming the problem. */
export async function indexTsFile(path: string, segmentMs = VOD_SEGMENT_MS): Promise<VodIndex> {
  const st = statSync(path);
  const chunker = new TsChunker({ chunkMs: segmentMs, keyframeLateMs: Math.min(2000, segmentMs - 1) });
  const segments: VodSegment[] = [];
  let offset = 0;
  let first = true;
  const take = (chunks: ReturnType<TsChunker['push']>): void => {
    for (const c of chunks) {
      const length = c.data.length - c.psiPrefixBytes;
      segments.push({ offset, length, durationMs: c.durationMs, prefix: Uint8Array.from(c.data.subarray(0, c.psiPrefixBytes)) });
      offset += length;
    }
  };
  for await (const block of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const b = block as Buffer;
    if (first) {
      const why = notTsReason(b);
      if (why) throw new Error(`${path}: ${why}`);
      first = false;
    }
    take(chunker.push(b));
  }
  take(chunker.flush());
  // Offsets hold only when every byte of the file is a packet of the stream.
  if (offset !== st.size) throw new Error(`${path}: ${st.size - offset} bytes are not whole MPEG-TS packets; the file cannot be cut into HLS segments`);
  return { path, sizeBytes: st.size, mtimeMs: st.mtimeMs, segments };
}

/** The on-demand playlist (EXT-X-PLAYLIST-TYPE:VOD, ended) of an index. Pure. */
export function vodPlaylist(index: Pick<VodIndex, 'segments'>, uri: (i: number) => string = (i) => `${i}.ts`): string {
  let max = 1000;
  for (const s of index.segments) max = Math.max(max, s.durationMs);
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-PLAYLIST-TYPE:VOD', `#EXT-X-TARGETDURATION:${Math.ceil(max / 1000)}`, '#EXT-X-MEDIA-SEQUENCE:0'];
  index.segments.forEach((s, i) => lines.push(`#EXTINF:${(s.durationMs / 1000).toFixed(3)},`, uri(i)));
  lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}
