// Cuts a live MPEG-TS byte stream into time-fixed chunks on 188-byte packet boundaries, preferring
// to cut right before a keyframe so that a node can start decoding at any chunk.
//
// Input: arbitrary byte blocks (push); garbage between packets is skipped and counted (ts-framer.ts).
//
// Cut rule (times are media times from the PCR, see media-timeline.ts; S = the chunk's start,
// N = S + chunkMs is the nominal cut time):
//  1. A video access unit that is a keyframe (random_access_indicator on its PES start, or an H.264
//     IDR / HEVC IRAP NAL unit) whose PES start has a time in [N − keyframeEarlyMs, N + keyframeLateMs]
//     cuts right before it — before the PAT/PMT when the packets just before the keyframe are only
//     PSI/SI, null and payload-less (PCR) packets containing a PAT then a PMT, as muxers emit them.
//  2. Otherwise the chunk is cut before the first packet whose time is ≥ N, once the time reaches
//     N + keyframeLateMs without a keyframe (immediately at N when the program has no video).
//     Such a chunk does not start with a keyframe (startsWithKeyframe false).
//  3. A content discontinuity (clock jump, discontinuity_indicator, or markDiscontinuity()) always
//     cuts, and the chunk after it carries discontinuity: true.
//  4. A chunk that would grow past maxChunkBytes is cut anyway, with a warning (bounded memory, even
//     when the stream has no usable clock at all).
// Defaults: chunkMs 1000, early 250, late 500. Durations telescope: chunk n+1 starts where chunk n
// ends (its mediaStartMs + durationMs); the last chunk before flush() ends one clock step after its
// last clock sample.
//
// PAT/PMT repetition: every chunk starts with a PAT packet followed by a PMT packet. When the bytes cut
// from the stream do not already start so, copies of the latest PAT and PMT seen before the cut point
// are prepended and `psiPrefixBytes` says how many bytes were added (0 or 376); stripping that prefix
// from every chunk and concatenating gives back exactly the input's packets. (Before any PAT/PMT has
// been seen nothing can be prepended; the first chunk then uses the first PAT/PMT it contains.)

import { DEFAULT_LIVE_CONFIG } from '../engine/live-config.js';
import { MediaTimeline } from './media-timeline.js';
import { TsPacketFramer, type FramerWarning } from './ts-framer.js';
import * as ts from './ts-packets.js';

/** live.chunkMs's default: the chunk duration a source cuts at. */
export const DEFAULT_CHUNK_MS = DEFAULT_LIVE_CONFIG.chunkMs;
/** live.maxChunkBytes's default: a chunk larger than this would be refused by every receiver. */
export const DEFAULT_MAX_CHUNK_BYTES = DEFAULT_LIVE_CONFIG.maxChunkBytes;
export const DEFAULT_DISCONTINUITY_GAP_MS = 3000;
export const DEFAULT_PCR_SILENCE_MS = 2000;
/** Elementary-stream bytes of a video PES searched for its first slice NAL unit. */
export const KEYFRAME_SCAN_BYTES = 4096;
const P = ts.TS_PACKET_SIZE;

export interface TsChunk {
  /** Sequence number (chunk id), consecutive from `firstSeq`. */
  seq: number;
  mediaStartMs: number;
  durationMs: number;
  /** Whole TS packets: the PAT/PMT prefix (if added) followed by the stream's packets. */
  data: Buffer;
  /** The chunk's first video access unit is a keyframe. */
  startsWithKeyframe: boolean;
  /** The content is discontinuous with the previous chunk (clock jump, file looped). */
  discontinuity: boolean;
  /** Bytes of PAT/PMT copies prepended to the stream's packets (0 or 376). */
  psiPrefixBytes: number;
}

export type SourceWarningCode =
  | FramerWarning['code']
  | 'ts-discontinuity'
  | 'chunk-too-large'
  | 'clock-source-changed';

export interface SourceWarning {
  code: SourceWarningCode;
  message: string;
}

export interface TsChunkerOptions {
  chunkMs?: number;
  /** A keyframe this long before the nominal cut time may end the chunk early. */
  keyframeEarlyMs?: number;
  /** How long after the nominal cut time a keyframe is waited for. Must be < chunkMs. */
  keyframeLateMs?: number;
  maxChunkBytes?: number;
  discontinuityGapMs?: number;
  pcrSilenceMs?: number;
  firstSeq?: number;
  onWarning?: (w: SourceWarning) => void;
}

interface PsiSnapshot {
  pat?: Buffer;
  pmt?: Buffer;
}

/** A video PES start inside the pending chunk. Offsets are relative to the pending bytes. */
interface VideoPesStart {
  offset: number;
  /** Where a cut before this access unit goes (before the PAT/PMT run right before it). */
  cutOffset: number;
  timeMs: number | undefined;
  key: boolean | undefined;
  psi: PsiSnapshot;
}

interface CutPoint {
  offset: number;
  timeMs: number;
  psi: PsiSnapshot;
}

export class TsChunker {
  private readonly chunkMs: number;
  private readonly earlyMs: number;
  private readonly lateMs: number;
  private readonly maxChunkBytes: number;
  private readonly warn: (w: SourceWarning) => void;
  private readonly timeline: MediaTimeline;
  private readonly framer: TsPacketFramer;
  private readonly onPacketBound = (pkt: Uint8Array): void => this.onPacket(pkt);
  private packets = 0;
  // What the stream told us.
  private pmtPid: number | undefined;
  private pcrPid: number | undefined;
  private videoPid: number | undefined;
  private videoType = 0;
  private ptsPid: number | undefined;
  private psi: PsiSnapshot = {};
  private lastTimeMs: number | undefined;
  // The pending chunk.
  private pending = Buffer.alloc(64 * 1024);
  private pendingLen = 0;
  private seq: number;
  private chunkStartMs: number | undefined;
  private chunkPsi: PsiSnapshot | undefined;
  private chunkDiscontinuity = false;
  private pes: VideoPesStart[] = [];
  private scan: { entry: VideoPesStart; es: Buffer; len: number } | undefined;
  private nominal: CutPoint | undefined;
  private run: { patOffset: number | undefined; pmtSeen: boolean } = { patOffset: undefined, pmtSeen: false };
  private out: TsChunk[] = [];

  constructor(opts: TsChunkerOptions = {}) {
    this.chunkMs = opts.chunkMs ?? DEFAULT_CHUNK_MS;
    this.earlyMs = opts.keyframeEarlyMs ?? this.chunkMs / 4;
    this.lateMs = opts.keyframeLateMs ?? this.chunkMs / 2;
    this.maxChunkBytes = opts.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES;
    this.seq = opts.firstSeq ?? 0;
    this.warn = opts.onWarning ?? (() => undefined);
    this.framer = new TsPacketFramer(this.warn);
    if (!(this.chunkMs > 0)) throw new RangeError(`chunkMs must be > 0 (got ${this.chunkMs})`);
    if (!(this.earlyMs >= 0 && this.earlyMs < this.chunkMs)) throw new RangeError('keyframeEarlyMs must be in [0, chunkMs)');
    if (!(this.lateMs >= 0 && this.lateMs < this.chunkMs)) throw new RangeError('keyframeLateMs must be in [0, chunkMs)');
    if (!(this.maxChunkBytes >= 4 * P)) throw new RangeError(`maxChunkBytes must be >= ${4 * P}`);
    if (!Number.isSafeInteger(this.seq) || this.seq < 0) throw new RangeError('firstSeq must be a non-negative integer');
    this.timeline = new MediaTimeline({
      discontinuityGapMs: opts.discontinuityGapMs ?? DEFAULT_DISCONTINUITY_GAP_MS,
      pcrSilenceMs: opts.pcrSilenceMs ?? DEFAULT_PCR_SILENCE_MS,
    });
  }

  /** Bytes dropped as garbage (between packets, or a truncated packet at the end). */
  get skippedBytes(): number {
    return this.framer.skippedBytes;
  }
  /** Times sync was (re)acquired after skipping bytes. */
  get resyncCount(): number {
    return this.framer.resyncCount;
  }
  get packetCount(): number {
    return this.packets;
  }
  /** Sequence number the next chunk will get. */
  get nextSeq(): number {
    return this.seq;
  }

  /** Feeds bytes; returns the chunks completed by them (often none). The block is not retained. */
  push(block: Uint8Array): TsChunk[] {
    this.framer.push(block, this.onPacketBound);
    return this.takeOut();
  }

  /** End of input: emits the pending chunk. Pushing afterwards continues the same stream. */
  flush(): TsChunk[] {
    this.framer.flush(this.onPacketBound);
    if (this.pendingLen > 0) this.cutAt(this.pendingLen, undefined, this.psi);
    return this.takeOut();
  }

  /**
   * The input restarts (a looped file): flushes, then continues numbering and media time, flagging
   * the next chunk as discontinuous.
   */
  markDiscontinuity(): TsChunk[] {
    const out = this.flush();
    this.timeline.expectDiscontinuity();
    this.chunkDiscontinuity = true;
    return out;
  }

  private takeOut(): TsChunk[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private onPacket(pkt: Uint8Array): void {
    this.packets++;
    const h = ts.parseTsPacket(pkt);
    const usable = h !== undefined && !h.transportError;
    const psiBefore = this.psi;
    const timeMs = usable ? this.clock(pkt, h, psiBefore) : this.lastTimeMs;
    if (this.pendingLen + P > this.maxChunkBytes) {
      this.warn({ code: 'chunk-too-large', message: `chunk reached ${this.pendingLen} bytes without a cut point; cut anyway` });
      this.cutAt(this.pendingLen, this.lastTimeMs, psiBefore);
    }
    const offset = this.pendingLen;
    this.append(pkt);
    if (!usable) {
      this.run = { patOffset: undefined, pmtSeen: false };
      return;
    }
    if (h.payloadUnitStart && h.pid === ts.PAT_PID) this.onPat(pkt, h);
    else if (h.payloadUnitStart && h.pid === this.pmtPid) this.onPmt(pkt, h);
    if (h.pid === this.videoPid && h.hasPayload) this.onVideo(pkt, h, offset, timeMs, psiBefore);
    // A keyframe cut may just have moved this packet: it is always the last one pending.
    const here = this.pendingLen - P;
    this.trackRun(h, here);
    if (timeMs !== undefined) this.checkNominal(here, timeMs, psiBefore);
  }

  /** Feeds the packet's PCR or PTS to the timeline; cuts at a discontinuity. Returns the packet's time. */
  private clock(pkt: Uint8Array, h: ts.TsPacketHeader, psiBefore: PsiSnapshot): number | undefined {
    let sample;
    if (h.pcr !== undefined && (this.pcrPid === undefined || h.pid === this.pcrPid)) {
      sample = this.timeline.pcr(ts.pcrToMs(h.pcr), h.discontinuity);
    }
    if (h.payloadUnitStart && h.hasPayload && h.pid >= ts.FIRST_MEDIA_PID && h.pid !== this.pmtPid && h.pid !== ts.NULL_PID) {
      const pes = ts.parsePesHeader(pkt.subarray(h.payloadOffset));
      const t = pes?.dts ?? pes?.pts;
      if (t !== undefined) {
        this.ptsPid ??= h.pid;
        if (h.pid === (this.videoPid ?? this.ptsPid)) sample = this.timeline.pts(ts.ptsToMs(t), h.discontinuity) ?? sample;
      }
    }
    if (sample === undefined) return this.lastTimeMs;
    if (sample.sourceChanged) {
      this.warn({ code: 'clock-source-changed', message: `media clock now follows ${this.timeline.clockSource ?? '?'}` });
    }
    if (sample.discontinuity) {
      this.warn({ code: 'ts-discontinuity', message: 'stream clock jumped; chunk cut and flagged discontinuous' });
      if (this.pendingLen > 0) this.cutAt(this.pendingLen, sample.mediaMs, psiBefore);
      this.chunkDiscontinuity = true;
    }
    this.lastTimeMs = sample.mediaMs;
    this.chunkStartMs ??= sample.mediaMs;
    return sample.mediaMs;
  }

  private onPat(pkt: Uint8Array, h: ts.TsPacketHeader): void {
    const section = ts.readPsiSection(pkt, h);
    const program = section?.currentNext ? ts.parsePat(section)?.[0] : undefined;
    if (program === undefined) return;
    const pat = Buffer.from(pkt);
    if (program.pmtPid !== this.pmtPid) {
      this.pmtPid = program.pmtPid;
      this.psi = { pat };
    } else {
      this.psi = { pat, pmt: this.psi.pmt };
    }
  }

  private onPmt(pkt: Uint8Array, h: ts.TsPacketHeader): void {
    const section = ts.readPsiSection(pkt, h);
    const pmt = section?.currentNext ? ts.parsePmt(section) : undefined;
    if (pmt === undefined) return;
    this.pcrPid = pmt.pcrPid === ts.NULL_PID ? undefined : pmt.pcrPid;
    const video = ts.findVideoStream(pmt);
    this.videoPid = video?.pid;
    this.videoType = video?.streamType ?? 0;
    this.psi = { pat: this.psi.pat, pmt: Buffer.from(pkt) };
  }

  /** Keyframe detection on the video PID: at PES starts, then over the first ES bytes if needed. */
  private onVideo(pkt: Uint8Array, h: ts.TsPacketHeader, offset: number, timeMs: number | undefined, psi: PsiSnapshot): void {
    const payload = pkt.subarray(h.payloadOffset);
    if (h.payloadUnitStart) {
      if (this.scan) this.resolve(this.scan.entry, false);
      const cutOffset = this.run.patOffset !== undefined && this.run.pmtSeen ? this.run.patOffset : offset;
      const entry: VideoPesStart = { offset, cutOffset, timeMs, key: undefined, psi };
      this.pes.push(entry);
      if (h.randomAccess) return this.resolve(entry, true);
      const pes = ts.parsePesHeader(payload);
      if (pes === undefined) return this.resolve(entry, false);
      this.scan = { entry, es: Buffer.alloc(KEYFRAME_SCAN_BYTES), len: 0 };
      this.scanMore(payload.subarray(Math.min(pes.dataOffset, payload.length)));
    } else if (this.scan) {
      this.scanMore(payload);
    }
  }

  private scanMore(bytes: Uint8Array): void {
    const scan = this.scan as NonNullable<typeof this.scan>;
    const n = Math.min(bytes.length, KEYFRAME_SCAN_BYTES - scan.len);
    scan.es.set(bytes.subarray(0, n), scan.len);
    scan.len += n;
    const verdict = ts.classifyAccessUnit(scan.es.subarray(0, scan.len), this.videoType);
    if (verdict !== 'unknown') this.resolve(scan.entry, verdict === 'keyframe');
    else if (scan.len >= KEYFRAME_SCAN_BYTES) this.resolve(scan.entry, false);
  }

  /** Records a PES start's keyframe verdict; rule 1 may cut before it. */
  private resolve(entry: VideoPesStart, key: boolean): void {
    entry.key = key;
    if (this.scan?.entry === entry) this.scan = undefined;
    if (!key || entry.cutOffset <= 0 || entry.timeMs === undefined || this.chunkStartMs === undefined) return;
    const nominal = this.chunkStartMs + this.chunkMs;
    if (entry.timeMs >= nominal - this.earlyMs && entry.timeMs <= nominal + this.lateMs) {
      this.cutAt(entry.cutOffset, entry.timeMs, entry.psi);
    }
  }

  /** Tracks the run of PSI/SI/null/payload-less packets (where a PAT then PMT may precede a keyframe). */
  private trackRun(h: ts.TsPacketHeader, offset: number): void {
    const filler = h.pid < ts.FIRST_MEDIA_PID || h.pid === ts.NULL_PID || h.pid === this.pmtPid || !h.hasPayload;
    if (!filler) this.run = { patOffset: undefined, pmtSeen: false };
    else if (h.pid === ts.PAT_PID && h.payloadUnitStart) this.run = { patOffset: offset, pmtSeen: false };
    else if (h.pid === this.pmtPid && h.payloadUnitStart && this.run.patOffset !== undefined) this.run.pmtSeen = true;
  }

  /** Rule 2: remember where the nominal cut time was crossed; cut there when no keyframe came. */
  private checkNominal(offset: number, timeMs: number, psi: PsiSnapshot): void {
    if (this.chunkStartMs === undefined) return;
    const nominal = this.chunkStartMs + this.chunkMs;
    if (this.nominal === undefined && timeMs >= nominal && offset > 0) this.nominal = { offset, timeMs, psi };
    if (this.nominal === undefined) return;
    const waitForKeyframe = this.videoPid !== undefined;
    if (waitForKeyframe && timeMs < nominal + this.lateMs) return;
    const scanning = this.scan?.entry.timeMs;
    if (waitForKeyframe && scanning !== undefined && scanning <= nominal + this.lateMs) return;
    this.cutAt(this.nominal.offset, this.nominal.timeMs, this.nominal.psi);
  }

  private append(pkt: Uint8Array): void {
    if (this.pendingLen + P > this.pending.length) {
      const grown = Buffer.alloc(Math.min(this.pending.length * 2, this.maxChunkBytes + P));
      this.pending.copy(grown, 0, 0, this.pendingLen);
      this.pending = grown;
    }
    this.pending.set(pkt, this.pendingLen);
    this.pendingLen += P;
  }

  /**
   * Emits pending[0, k) as a chunk; the rest starts the next chunk, which begins at media time
   * `nextStartMs` (undefined: at the next clock sample) with `nextPsi` as its PAT/PMT.
   */
  private cutAt(k: number, nextStartMs: number | undefined, nextPsi: PsiSnapshot): void {
    if (k <= 0) return;
    const body = this.pending.subarray(0, k);
    const startMs = this.chunkStartMs ?? nextStartMs ?? this.lastTimeMs ?? 0;
    const endMs = nextStartMs ?? (this.lastTimeMs === undefined ? startMs : this.lastTimeMs + this.timeline.stepMs);
    const first = this.pes.find((e) => e.offset < k);
    const prefix = this.startsWithPsi(body) ? undefined : this.prefixFor(this.chunkPsi ?? this.psi);
    const data = prefix ? Buffer.concat([prefix, body]) : Buffer.from(body);
    this.out.push({
      seq: this.seq++,
      mediaStartMs: startMs,
      durationMs: Math.max(0, endMs - startMs),
      data,
      startsWithKeyframe: first?.key === true,
      discontinuity: this.chunkDiscontinuity,
      psiPrefixBytes: prefix?.length ?? 0,
    });
    // The remainder becomes the start of the next chunk.
    this.pending.copyWithin(0, k, this.pendingLen);
    this.pendingLen -= k;
    this.pes = this.pes.filter((e) => e.offset >= k);
    for (const e of this.pes) {
      e.offset -= k;
      e.cutOffset = Math.max(0, e.cutOffset - k);
    }
    if (this.scan && !this.pes.includes(this.scan.entry)) this.scan = undefined;
    const patOffset = this.run.patOffset === undefined ? undefined : this.run.patOffset - k;
    this.run = patOffset !== undefined && patOffset >= 0 ? { patOffset, pmtSeen: this.run.pmtSeen } : { patOffset: undefined, pmtSeen: false };
    this.nominal = undefined;
    this.chunkStartMs = nextStartMs ?? (this.lastTimeMs === undefined ? undefined : endMs);
    this.chunkPsi = nextPsi;
    this.chunkDiscontinuity = false;
  }

  /** The bytes begin with a PAT packet followed by a PMT packet. */
  private startsWithPsi(body: Uint8Array): boolean {
    if (body.length < 2 * P) return false;
    const a = ts.parseTsPacket(body, 0);
    const b = ts.parseTsPacket(body, P);
    return a?.pid === ts.PAT_PID && a.payloadUnitStart && b !== undefined && b.pid === this.pmtPid && b.payloadUnitStart;
  }

  private prefixFor(psi: PsiSnapshot): Buffer | undefined {
    const pat = psi.pat ?? this.psi.pat;
    const pmt = psi.pmt ?? this.psi.pmt;
    return pat && pmt ? Buffer.concat([pat, pmt]) : undefined;
  }
}
