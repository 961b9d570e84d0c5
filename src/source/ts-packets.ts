// Pure MPEG-TS (ISO/IEC 13818-1) parsing: the 188-byte packet header and adaptation field (PCR,
// random_access_indicator, discontinuity_indicator), PSI sections for PAT and PMT (enough to find the
// program's video PID, its stream type and the PCR PID), PES headers (PTS/DTS) and keyframe detection
// from the elementary stream's NAL units (H.264, HEVC). No I/O, no state: the chunker keeps state.
//
// Limits, by design: PSI sections are parsed only when they fit in the packet that starts them (true
// of PAT and PMT from ordinary muxers); the first program of the PAT is the one followed.

export const TS_PACKET_SIZE = 188;
export const TS_SYNC_BYTE = 0x47;
export const PAT_PID = 0x0000;
export const NULL_PID = 0x1fff;
/** PIDs below this are reserved for tables (PAT, CAT, NIT, SDT, EIT, ...): never media. */
export const FIRST_MEDIA_PID = 0x0020;

/** PCR runs at 27 MHz: ticks per millisecond. */
export const PCR_TICKS_PER_MS = 27_000;
/** PTS/DTS run at 90 kHz: ticks per millisecond. */
export const PTS_TICKS_PER_MS = 90;
/** PCR base and PTS/DTS are 33-bit counters; they wrap after this many 90 kHz ticks. */
export const TIMESTAMP_WRAP_90KHZ = 2 ** 33;

/** Stream types (PMT) this project recognises as video. */
export const StreamType = {
  Mpeg2Video: 0x02,
  H264: 0x1b,
  Hevc: 0x24,
} as const;
const VIDEO_STREAM_TYPES: ReadonlySet<number> = new Set([0x01, 0x02, 0x10, 0x1b, 0x24]);

export interface TsPacketHeader {
  transportError: boolean;
  payloadUnitStart: boolean;
  pid: number;
  /** 0..15 */
  continuityCounter: number;
  hasAdaptationField: boolean;
  hasPayload: boolean;
  /** Offset of the payload inside the packet (188 when there is none). */
  payloadOffset: number;
  /** From the adaptation field (false when there is none). */
  discontinuity: boolean;
  randomAccess: boolean;
  /** Program clock reference in 27 MHz ticks (base × 300 + extension), when the packet carries one. */
  pcr?: number;
}

/**
 * Parses the header and adaptation field of the packet at `bytes[offset .. offset+188)`.
 * Returns undefined when the sync byte is missing, the packet is truncated, or the adaptation field
 * length overruns the packet (a corrupt packet).
 */
export function parseTsPacket(bytes: Uint8Array, offset = 0): TsPacketHeader | undefined {
  if (offset + TS_PACKET_SIZE > bytes.length || bytes[offset] !== TS_SYNC_BYTE) return undefined;
  const b1 = bytes[offset + 1] as number;
  const b2 = bytes[offset + 2] as number;
  const b3 = bytes[offset + 3] as number;
  const afc = (b3 >> 4) & 0x3;
  const hasAdaptationField = (afc & 0x2) !== 0;
  const hasPayload = (afc & 0x1) !== 0;
  let payloadOffset = 4;
  let discontinuity = false;
  let randomAccess = false;
  let pcr: number | undefined;
  if (hasAdaptationField) {
    const afLength = bytes[offset + 4] as number;
    if (5 + afLength > TS_PACKET_SIZE) return undefined;
    payloadOffset = 5 + afLength;
    if (afLength > 0) {
      const flags = bytes[offset + 5] as number;
      discontinuity = (flags & 0x80) !== 0;
      randomAccess = (flags & 0x40) !== 0;
      if ((flags & 0x10) !== 0 && afLength >= 7) pcr = readPcr(bytes, offset + 6);
    }
  }
  return {
    transportError: (b1 & 0x80) !== 0,
    payloadUnitStart: (b1 & 0x40) !== 0,
    pid: ((b1 & 0x1f) << 8) | b2,
    continuityCounter: b3 & 0x0f,
    hasAdaptationField,
    hasPayload: hasPayload && payloadOffset < TS_PACKET_SIZE,
    payloadOffset: hasPayload ? payloadOffset : TS_PACKET_SIZE,
    discontinuity,
    randomAccess,
    pcr,
  };
}

/** Reads a 6-byte PCR field: 33-bit base (90 kHz), 6 reserved bits, 9-bit extension. In 27 MHz ticks. */
function readPcr(bytes: Uint8Array, at: number): number {
  // 33 bits do not fit JavaScript's 32-bit bitwise operators: combine with arithmetic.
  const base =
    (bytes[at] as number) * 2 ** 25 +
    (bytes[at + 1] as number) * 2 ** 17 +
    (bytes[at + 2] as number) * 2 ** 9 +
    (bytes[at + 3] as number) * 2 +
    ((bytes[at + 4] as number) >> 7);
  const ext = (((bytes[at + 4] as number) & 0x01) << 8) | (bytes[at + 5] as number);
  return base * 300 + ext;
}

/** PCR (27 MHz ticks) to milliseconds. */
export function pcrToMs(pcr: number): number {
  return pcr / PCR_TICKS_PER_MS;
}

/** PTS/DTS (90 kHz ticks) to milliseconds. */
export function ptsToMs(pts: number): number {
  return pts / PTS_TICKS_PER_MS;
}

// ---------------------------------------------------------------------------------------------
// PSI: PAT and PMT

/** MPEG-2 CRC-32 (polynomial 0x04C11DB7, not reflected, initial 0xFFFFFFFF, no final xor). */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[i] = c >>> 0;
  }
  return table;
})();

export function mpegCrc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) {
    crc = ((crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ (bytes[i] as number)) & 0xff] as number)) >>> 0;
  }
  return crc;
}

export interface PsiSection {
  tableId: number;
  /** table_id_extension: transport_stream_id (PAT) or program_number (PMT). */
  tableIdExtension: number;
  version: number;
  currentNext: boolean;
  /** Bytes between the section header's last_section_number and the CRC. */
  body: Uint8Array;
}

/**
 * Reads the PSI section that starts in a packet with payload_unit_start set: follows the pointer
 * field, checks the section length fits and the CRC-32. Undefined when any of that fails.
 */
export function readPsiSection(packet: Uint8Array, header: TsPacketHeader): PsiSection | undefined {
  if (!header.payloadUnitStart || !header.hasPayload) return undefined;
  const payloadStart = header.payloadOffset;
  const pointer = packet[payloadStart] as number;
  const start = payloadStart + 1 + pointer;
  if (start + 3 > TS_PACKET_SIZE) return undefined;
  const tableId = packet[start] as number;
  const b1 = packet[start + 1] as number;
  if ((b1 & 0x80) === 0) return undefined; // section_syntax_indicator must be 1 for PAT/PMT
  const sectionLength = ((b1 & 0x0f) << 8) | (packet[start + 2] as number);
  const end = start + 3 + sectionLength;
  if (sectionLength < 9 || end > TS_PACKET_SIZE) return undefined;
  if (mpegCrc32(packet, start, end) !== 0) return undefined; // CRC over section incl. its CRC is 0
  const b5 = packet[start + 5] as number;
  return {
    tableId,
    tableIdExtension: ((packet[start + 3] as number) << 8) | (packet[start + 4] as number),
    version: (b5 >> 1) & 0x1f,
    currentNext: (b5 & 0x01) !== 0,
    body: packet.subarray(start + 8, end - 4),
  };
}

export interface PatProgram {
  programNumber: number;
  pmtPid: number;
}

/** Programs of a PAT section (table_id 0); program 0 (the NIT pointer) is left out. */
export function parsePat(section: PsiSection): PatProgram[] | undefined {
  if (section.tableId !== 0x00) return undefined;
  const out: PatProgram[] = [];
  const b = section.body;
  for (let i = 0; i + 4 <= b.length; i += 4) {
    const programNumber = ((b[i] as number) << 8) | (b[i + 1] as number);
    const pid = (((b[i + 2] as number) & 0x1f) << 8) | (b[i + 3] as number);
    if (programNumber !== 0) out.push({ programNumber, pmtPid: pid });
  }
  return out;
}

export interface PmtStream {
  streamType: number;
  pid: number;
}

export interface Pmt {
  programNumber: number;
  pcrPid: number;
  streams: PmtStream[];
}

/** A PMT section (table_id 2): PCR PID and the elementary streams. */
export function parsePmt(section: PsiSection): Pmt | undefined {
  if (section.tableId !== 0x02) return undefined;
  const b = section.body;
  if (b.length < 4) return undefined;
  const pcrPid = (((b[0] as number) & 0x1f) << 8) | (b[1] as number);
  const programInfoLength = (((b[2] as number) & 0x0f) << 8) | (b[3] as number);
  const streams: PmtStream[] = [];
  let i = 4 + programInfoLength;
  while (i + 5 <= b.length) {
    const streamType = b[i] as number;
    const pid = (((b[i + 1] as number) & 0x1f) << 8) | (b[i + 2] as number);
    const esInfoLength = (((b[i + 3] as number) & 0x0f) << 8) | (b[i + 4] as number);
    streams.push({ streamType, pid });
    i += 5 + esInfoLength;
  }
  return { programNumber: section.tableIdExtension, pcrPid, streams };
}

export function isVideoStreamType(streamType: number): boolean {
  return VIDEO_STREAM_TYPES.has(streamType);
}

/** The program's first video stream, if any. */
export function findVideoStream(pmt: Pmt): PmtStream | undefined {
  return pmt.streams.find((s) => isVideoStreamType(s.streamType));
}

// ---------------------------------------------------------------------------------------------
// PES

export interface PesHeader {
  streamId: number;
  /** 90 kHz ticks. */
  pts?: number;
  dts?: number;
  /** Offset of the elementary-stream data relative to the PES start. */
  dataOffset: number;
}

/** Parses a PES header at `payload[0..]` (a packet's payload when payload_unit_start is set). */
export function parsePesHeader(payload: Uint8Array): PesHeader | undefined {
  if (payload.length < 6 || payload[0] !== 0 || payload[1] !== 0 || payload[2] !== 1) return undefined;
  const streamId = payload[3] as number;
  // Stream ids without the optional header: program_stream_map, padding, private_2, ECM, EMM,
  // directory, DSMCC, H.222.1 type E.
  const noHeader = [0xbc, 0xbe, 0xbf, 0xf0, 0xf1, 0xff, 0xf2, 0xf8].includes(streamId);
  if (noHeader) return { streamId, dataOffset: 6 };
  if (payload.length < 9) return undefined;
  const flags = payload[7] as number;
  const headerDataLength = payload[8] as number;
  const dataOffset = 9 + headerDataLength;
  const ptsDts = flags >> 6;
  let pts: number | undefined;
  let dts: number | undefined;
  if ((ptsDts & 0x2) !== 0 && payload.length >= 14) pts = readTimestamp(payload, 9);
  if (ptsDts === 0x3 && payload.length >= 19) dts = readTimestamp(payload, 14);
  return { streamId, pts, dts, dataOffset };
}

/** 33-bit PTS/DTS in the 5-byte marker-bit layout. */
function readTimestamp(b: Uint8Array, at: number): number {
  return (
    (((b[at] as number) >> 1) & 0x07) * 2 ** 30 +
    (b[at + 1] as number) * 2 ** 22 +
    (((b[at + 2] as number) >> 1) & 0x7f) * 2 ** 15 +
    (b[at + 3] as number) * 2 ** 7 +
    ((b[at + 4] as number) >> 1)
  );
}

// ---------------------------------------------------------------------------------------------
// Keyframes

export type NalVerdict = 'keyframe' | 'not-keyframe' | 'unknown';

/**
 * Looks at the NAL units whose start codes are in `es` (elementary-stream bytes of an access unit,
 * from its beginning) and decides whether the access unit is a random-access point: H.264 IDR
 * (nal_unit_type 5), HEVC IRAP (nal_unit_type 16..23). 'unknown' when no coded-slice NAL unit has been
 * seen yet in these bytes (parameter sets and SEI come first; the slice may be further on).
 * For other stream types the answer is always 'unknown'.
 */
export function classifyAccessUnit(es: Uint8Array, streamType: number): NalVerdict {
  if (streamType !== StreamType.H264 && streamType !== StreamType.Hevc) return 'unknown';
  for (let i = 0; i + 3 < es.length; i++) {
    if (es[i] !== 0 || es[i + 1] !== 0 || es[i + 2] !== 1) continue;
    const header = es[i + 3] as number;
    if (streamType === StreamType.H264) {
      const type = header & 0x1f;
      if (type === 5) return 'keyframe';
      if (type >= 1 && type <= 4) return 'not-keyframe';
    } else {
      const type = (header >> 1) & 0x3f;
      if (type >= 16 && type <= 23) return 'keyframe';
      if (type <= 9) return 'not-keyframe';
    }
    i += 2;
  }
  return 'unknown';
}
