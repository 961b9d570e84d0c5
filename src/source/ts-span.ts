// The playing time of an MPEG-TS file from its first and last bytes only: the smallest PTS of the
// PES packets that start in the head, and the largest of those that start in the tail. A player
// told the duration need not read the file's last 250,000 bytes before its first frame (what mpv's
// demuxer does to find an MPEG-TS duration): a publisher writes it into the manifest (a box playing
// the download while it downloads reads nothing of the end), and a box playing a download whose
// manifest has none reads the last 64 KiB instead of five pieces (docs/downloads.md).
// Pure: byte arrays in, milliseconds out. Packets are found by the framer the live source uses
// (ts-framer.ts), so the tail may start anywhere in the file.
import { TsPacketFramer } from './ts-framer.js';
import { FIRST_MEDIA_PID, NULL_PID, parsePesHeader, parseTsPacket, PTS_TICKS_PER_MS, TIMESTAMP_WRAP_90KHZ, TS_PACKET_SIZE } from './ts-packets.js';

/** Bytes read at each end of a file to find its first and last timestamps. */
export const SPAN_PROBE_BYTES = 64 * 1024;
/** Added to the span: its last frame's own duration (an EDL longer than the file ends at its end). */
const LAST_FRAME_MS = 100;

/** PTS (90 kHz ticks) of every PES packet that starts in `bytes`, in file order. */
export function pesTimestamps(bytes: Uint8Array): number[] {
  const out: number[] = [];
  const onPacket = (packet: Uint8Array): void => {
    const h = parseTsPacket(packet);
    if (!h || h.transportError || !h.payloadUnitStart || !h.hasPayload || h.pid < FIRST_MEDIA_PID || h.pid === NULL_PID) return;
    const pes = parsePesHeader(packet.subarray(h.payloadOffset, TS_PACKET_SIZE));
    if (pes?.pts !== undefined) out.push(pes.pts);
  };
  const framer = new TsPacketFramer();
  framer.push(bytes, onPacket);
  framer.flush(onPacket);
  return out;
}

/**
 * Milliseconds from the earliest PTS in `head` (the file's first bytes) to the latest in `tail`
 * (its last bytes), across a 33-bit wrap; undefined when either holds none (not MPEG-TS, or too
 * few bytes). The last frame's own duration is not included.
 */
export function tsSpanMs(head: Uint8Array, tail: Uint8Array): number | undefined {
  const first = pesTimestamps(head);
  const last = pesTimestamps(tail);
  if (first.length === 0 || last.length === 0) return undefined;
  const start = Math.min(...first);
  // Relative to the start, across a wrap (a file longer than 26.5 hours is not expected).
  const end = Math.max(...last.map((p) => (p - start + TIMESTAMP_WRAP_90KHZ) % TIMESTAMP_WRAP_90KHZ));
  return end / PTS_TICKS_PER_MS;
}

/**
 * The playing time (whole ms) of an MPEG-TS file whose first and last SPAN_PROBE_BYTES are `head`
 * and `tail`: their timestamps' span plus a last frame; undefined when there is none, or when the
 * head does not start with two TS packets (a file of another kind whose bytes happen to parse).
 */
export function tsDurationMs(head: Uint8Array, tail: Uint8Array): number | undefined {
  if (head[0] !== 0x47 || head[TS_PACKET_SIZE] !== 0x47) return undefined;
  const span = tsSpanMs(head, tail);
  return span === undefined || span <= 0 ? undefined : Math.round(span + LAST_FRAME_MS);
}
