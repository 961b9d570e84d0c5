// The chunker's media clock: turns the stream's raw clock samples (PCR, or PTS/DTS when the stream
// carries no PCR) into one monotonic media timeline in milliseconds.
//
// - Timeline = raw clock + offset. The offset starts at 0 (media time is the PCR in ms) and changes only
//   at a rebase, which maps the sample to `last media time + step` (step = the latest normal interval
//   between samples), so media time never goes back and never leaps.
// - 33-bit wrap-around of PCR/PTS (every ~26.5 h) is unwrapped, not treated as a jump.
// - A content discontinuity is a sample that goes backwards, leaps forward by more than
//   `discontinuityGapMs`, or carries the adaptation field's discontinuity_indicator: rebase + reported.
// - Clock source: PCR whenever the stream has one. PTS samples (the caller passes one PID's DTS or PTS)
//   are used only while no PCR has been seen, or once PCR has been silent for `pcrSilenceMs` of PTS
//   progress. Switching source is a rebase, not a content discontinuity.
// - expectDiscontinuity(): the caller knows the next sample starts a new timeline (a looped file);
//   it is rebased without being reported again.

import { PTS_TICKS_PER_MS, TIMESTAMP_WRAP_90KHZ } from './ts-packets.js';

export type ClockSource = 'pcr' | 'pts';

export interface MediaTimelineOptions {
  /** A forward leap of the clock larger than this is a discontinuity. */
  discontinuityGapMs: number;
  /** PCR silent for this much PTS progress: fall back to PTS. */
  pcrSilenceMs: number;
}

export interface TimelineSample {
  /** Media time of the sample. */
  mediaMs: number;
  /** The content is discontinuous here (not reported for expected or clock-source rebases). */
  discontinuity: boolean;
  /** The clock source changed with this sample (PCR lost, or PCR appeared). */
  sourceChanged: boolean;
}

/** Both PCR (base) and PTS wrap at 2^33 ticks of 90 kHz. */
const WRAP_MS = TIMESTAMP_WRAP_90KHZ / PTS_TICKS_PER_MS;
/** Step assumed before two normal samples were seen (a frame at 25 fps). */
const DEFAULT_STEP_MS = 40;
/** Bounds on the step used for rebases. */
const MIN_STEP_MS = 1;
const MAX_STEP_MS = 200;

interface SourceState {
  /** Unwrapped value of the previous sample from this source. */
  lastRaw?: number;
  /** Multiples of WRAP_MS added so far. */
  wrapOffset: number;
}

export class MediaTimeline {
  private offset = 0;
  private lastMedia: number | undefined;
  private step = DEFAULT_STEP_MS;
  private source: ClockSource | undefined;
  private readonly sources: Record<ClockSource, SourceState> = {
    pcr: { wrapOffset: 0 },
    pts: { wrapOffset: 0 },
  };
  private rebasePending = false;
  /** Highest PTS seen (unwrapped ms) and its value when the last PCR arrived. */
  private maxPts: number | undefined;
  private ptsAtLastPcr: number | undefined;

  constructor(private readonly opts: MediaTimelineOptions) {}

  /** Media time of the latest sample; undefined before the first. */
  get nowMs(): number | undefined {
    return this.lastMedia;
  }

  /** The interval assumed between the latest sample and the next one. */
  get stepMs(): number {
    return this.step;
  }

  get clockSource(): ClockSource | undefined {
    return this.source;
  }

  /** A PCR sample in ms (PCR / 27000). */
  pcr(rawMs: number, discontinuityIndicator = false): TimelineSample {
    this.ptsAtLastPcr = this.maxPts;
    return this.sample('pcr', this.unwrap('pcr', rawMs), discontinuityIndicator);
  }

  /** A PTS/DTS sample in ms; undefined when ignored because PCR drives the clock. */
  pts(rawMs: number, discontinuityIndicator = false): TimelineSample | undefined {
    const value = this.unwrap('pts', rawMs);
    if (this.maxPts === undefined || value > this.maxPts || discontinuityIndicator) this.maxPts = value;
    if (this.source === 'pcr' && this.ptsAtLastPcr === undefined) this.ptsAtLastPcr = value;
    const pcrSilent =
      this.source === 'pcr' && this.ptsAtLastPcr !== undefined && value - this.ptsAtLastPcr > this.opts.pcrSilenceMs;
    if (this.source === 'pcr' && !pcrSilent) {
      this.sources.pts.lastRaw = value;
      return undefined;
    }
    return this.sample('pts', value, discontinuityIndicator);
  }

  /** The next sample starts a new timeline: continue from the current media time. */
  expectDiscontinuity(): void {
    this.rebasePending = true;
    this.sources.pcr = { wrapOffset: 0 };
    this.sources.pts = { wrapOffset: 0 };
    this.maxPts = undefined;
    this.ptsAtLastPcr = undefined;
  }

  private unwrap(src: ClockSource, rawMs: number): number {
    const s = this.sources[src];
    let value = rawMs + s.wrapOffset;
    if (s.lastRaw !== undefined && value < s.lastRaw - WRAP_MS / 2) {
      s.wrapOffset += WRAP_MS;
      value += WRAP_MS;
    }
    return value;
  }

  private sample(src: ClockSource, value: number, discontinuityIndicator: boolean): TimelineSample {
    const s = this.sources[src];
    const sourceChanged = this.source !== undefined && this.source !== src;
    let discontinuity = false;
    if (this.lastMedia !== undefined) {
      if (this.rebasePending || sourceChanged || s.lastRaw === undefined) {
        this.rebase(value);
      } else {
        const delta = value - s.lastRaw;
        if (discontinuityIndicator || delta < 0 || delta > this.opts.discontinuityGapMs) {
          this.rebase(value);
          discontinuity = true;
        } else if (delta > 0) {
          this.step = Math.min(MAX_STEP_MS, Math.max(MIN_STEP_MS, delta));
        }
      }
    }
    this.rebasePending = false;
    s.lastRaw = value;
    this.source = src;
    const media = value + this.offset;
    // Guard against float noise ever producing a (tiny) step back.
    this.lastMedia = this.lastMedia === undefined ? media : Math.max(this.lastMedia, media);
    return { mediaMs: this.lastMedia, discontinuity, sourceChanged };
  }

  private rebase(value: number): void {
    this.offset = (this.lastMedia as number) + this.step - value;
  }
}
