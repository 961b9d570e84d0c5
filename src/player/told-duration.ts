// mpv finds an MPEG-TS film's duration by reading the file's last 250,000 bytes before it shows
// anything. For a film played while it downloads those bytes are five pieces every viewer must fetch
// before its first frame; in a flash crowd they were more than half of what each start needed
// (docs/simulator.md). Told the duration, mpv reads only from the start: the box reads the
// film's first and last SPAN_PROBE_BYTES itself, takes the span of their timestamps
// (source/ts-span.ts), and has mpv play an EDL of the whole file with that length, its duration
// probe off. A seek then reads only the file's last few KB (checked with mpv 0.35.1).
import type { ByteSource } from './byte-source.js';
import { tsSpanMs } from '../source/ts-span.js';

/** Bytes read at each end of the file to find its first and last timestamps. */
export const SPAN_PROBE_BYTES = 64 * 1024;
/** Added to the span: its last frame's own duration (an EDL longer than the file ends at its end). */
const LAST_FRAME_MS = 100;
/** mpv's per-file options with the duration told: no read of the file's end for it. */
export const NO_DURATION_PROBE: Readonly<Record<string, string>> = Object.freeze({ 'demuxer-lavf-o': 'skip_estimate_duration_from_pts=1' });

async function readRange(source: ByteSource, from: number, to: number, signal: AbortSignal): Promise<Uint8Array> {
  const out = new Uint8Array(to - from);
  let at = from;
  while (at < to) {
    const b = await source.read(at, to - at, signal);
    out.set(b.subarray(0, to - at), at - from);
    at += b.length;
  }
  return out;
}

/**
 * The film's duration (s) from its first and last bytes, read through `source` (waiting for
 * them), or undefined when it is not MPEG-TS with timestamps at both ends (too small, another
 * format). Rejects when the bytes cannot come (`signal`, a failed download).
 */
export async function mpegTsDurationS(source: ByteSource, signal: AbortSignal): Promise<number | undefined> {
  const size = source.sizeBytes;
  if (size < 2 * SPAN_PROBE_BYTES) return undefined;
  const [head, tail] = await Promise.all([readRange(source, 0, SPAN_PROBE_BYTES, signal), readRange(source, size - SPAN_PROBE_BYTES, size, signal)]);
  const span = tsSpanMs(head, tail);
  return span === undefined || span <= 0 ? undefined : (span + LAST_FRAME_MS) / 1000;
}

/** An mpv EDL of all of `url`, `durationS` long (mpv's `%length%` quoting of the URL). */
export function edlOfWhole(url: string, durationS: number): string {
  return `edl://%${Buffer.byteLength(url)}%${url},0,${durationS.toFixed(3)}`;
}
