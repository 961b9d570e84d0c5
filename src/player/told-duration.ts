// mpv finds an MPEG-TS film's duration by reading the file's last 250,000 bytes before it shows
// anything. For a film played while it downloads those bytes are five pieces every viewer must fetch
// before its first frame; in a flash crowd they were more than half of what each start needed
// (docs/simulator.md). Told the duration, mpv reads only from the start: the box takes it from the
// manifest (its publisher found it, source/file-manifest.ts) or, when the manifest has none, reads
// the film's first and last SPAN_PROBE_BYTES itself and takes the span of their timestamps
// (source/ts-span.ts); mpv plays an EDL of the whole file with that length, its duration probe
// off. A seek then reads only the file's last few KB (checked with mpv 0.35.1).
import { readRange, type ByteSource } from './byte-source.js';
import { SPAN_PROBE_BYTES, tsDurationMs } from '../source/ts-span.js';

/** mpv's per-file options with the duration told: no read of the file's end for it. */
export const NO_DURATION_PROBE: Readonly<Record<string, string>> = Object.freeze({ 'demuxer-lavf-o': 'skip_estimate_duration_from_pts=1' });

/**
 * The film's duration (s) from its first and last bytes, read through `source` (waiting for
 * them), or undefined when it is not MPEG-TS with timestamps at both ends (too small, another
 * format). Rejects when the bytes cannot come (`signal`, a failed download).
 */
export async function mpegTsDurationS(source: ByteSource, signal: AbortSignal): Promise<number | undefined> {
  const size = source.sizeBytes;
  if (size < 2 * SPAN_PROBE_BYTES) return undefined;
  const [head, tail] = await Promise.all([readRange(source, 0, SPAN_PROBE_BYTES, signal), readRange(source, size - SPAN_PROBE_BYTES, size, signal)]);
  const ms = tsDurationMs(head, tail);
  return ms === undefined ? undefined : ms / 1000;
}

/** An mpv EDL of all of `url`, `durationS` long (mpv's `%length%` quoting of the URL). */
export function edlOfWhole(url: string, durationS: number): string {
  return `edl://%${Buffer.byteLength(url)}%${url},0,${durationS.toFixed(3)}`;
}
