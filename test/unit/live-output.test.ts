import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveOutput, type ChunkFeed, type LiveOutputOptions } from '../../src/player/live-output.js';

type Ev = { t: number; kind: 'chunk' | 'gap' | 'end'; seq?: number };

function collector(): ChunkFeed & { events: Ev[]; chunks: () => number[]; gaps: () => number[] } {
  const events: Ev[] = [];
  return {
    events,
    onChunk: (seq) => events.push({ t: Date.now(), kind: 'chunk', seq }),
    onGap: (seq) => events.push({ t: Date.now(), kind: 'gap', seq }),
    onEnd: () => events.push({ t: Date.now(), kind: 'end' }),
    chunks: () => events.filter((e) => e.kind === 'chunk').map((e) => e.seq!),
    gaps: () => events.filter((e) => e.kind === 'gap').map((e) => e.seq!),
  };
}

const data = (n = 10) => new Uint8Array(n);

describe('LiveOutput', () => {
  let t0 = 0;
  beforeEach(() => {
    vi.useFakeTimers();
    t0 = Date.now();
  });
  afterEach(() => vi.useRealTimers());

  const make = (o: LiveOutputOptions = {}) => {
    const out = new LiveOutput({ prebufferMs: 2000, playerBufferMs: 3000, clock: { now: () => Date.now() }, ...o });
    const feed = collector();
    out.subscribe(feed);
    return { out, feed };
  };

  it('holds everything until the prebuffer is there, bursts up to the player buffer, then paces in real time', () => {
    const { out, feed } = make();
    out.push(0, 1000, data());
    vi.advanceTimersByTime(5000);
    expect(feed.events).toEqual([]);
    for (let s = 1; s < 8; s++) out.push(s, 1000, data());
    // prebuffer reached at the second chunk; the burst is 3 chunks (3000 ms of tokens)
    expect(feed.chunks()).toEqual([0, 1, 2]);
    vi.advanceTimersByTime(999);
    expect(feed.chunks()).toEqual([0, 1, 2]);
    vi.advanceTimersByTime(1);
    expect(feed.chunks()).toEqual([0, 1, 2, 3]);
    vi.advanceTimersByTime(3000);
    expect(feed.chunks()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(feed.events.map((e) => e.t - t0)).toEqual([5000, 5000, 5000, 6000, 7000, 8000, 9000]);
    expect(out.stats()).toMatchObject({ state: 'playing', chunksDue: 7, chunksOnTime: 7, continuityIndex: 1, discontinuities: 0, bytesOut: 70 });
    expect(out.stats().firstReleaseMs).toBe(5000);
  });

  it('reports continuity null (not yet playing) while nothing was due, not a perfect 1', () => {
    const { out, feed } = make();
    expect(out.stats()).toMatchObject({ state: 'buffering', chunksDue: 0, continuityIndex: null });
    out.push(0, 1000, data());
    vi.advanceTimersByTime(5000); // one chunk held, prebuffer not reached: nothing played yet
    expect(feed.events).toEqual([]);
    expect(out.stats().continuityIndex).toBeNull();
  });

  it('puts out-of-order arrivals in order while playing', () => {
    const { out, feed } = make({ playerBufferMs: 10_000 });
    out.push(0, 1000, data());
    out.push(1, 1000, data());
    out.push(4, 1000, data());
    out.push(3, 1000, data());
    expect(feed.chunks()).toEqual([0, 1]);
    out.push(2, 1000, data());
    expect(feed.chunks()).toEqual([0, 1, 2, 3, 4]);
  });

  it('starts at the earliest chunk seen and reorders later arrivals', () => {
    const { out, feed } = make();
    out.push(2, 1000, data());
    out.push(0, 1000, data());
    expect(feed.chunks()).toEqual([]);
    out.push(1, 1000, data());
    expect(feed.chunks()).toEqual([0, 1, 2]);
  });

  it('skips a chunk missing at its deadline, counts it, and drops it when it arrives late', () => {
    const { out, feed } = make();
    out.push(0, 1000, data());
    out.push(1, 1000, data());
    out.push(3, 1000, data());
    expect(feed.chunks()).toEqual([0, 1]);
    // chunk 2 is due at t0 + 2000 (start) and must not be skipped before
    vi.advanceTimersByTime(2000);
    expect(feed.gaps()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(feed.gaps()).toEqual([2]);
    expect(feed.chunks()).toEqual([0, 1, 3]);
    out.push(2, 1000, data()); // after its turn
    expect(feed.chunks()).toEqual([0, 1, 3]);
    const s = out.stats();
    expect(s).toMatchObject({ chunksDue: 4, chunksOnTime: 3, discontinuities: 1, lateChunks: 1 });
    expect(s.continuityIndex).toBe(0.75);
  });

  it('hands a chunk over on time when it arrives just before its deadline', () => {
    const { out, feed } = make();
    out.push(0, 1000, data());
    out.push(1, 1000, data());
    vi.advanceTimersByTime(1999);
    out.push(2, 1000, data());
    expect(feed.chunks()).toEqual([0, 1, 2]);
    expect(out.stats().discontinuities).toBe(0);
  });

  it('skips a chunk the node gave up on without waiting for its deadline', () => {
    const { out, feed } = make({ playerBufferMs: 10_000 });
    out.push(0, 1000, data());
    out.skip(1);
    out.push(2, 1000, data());
    out.push(3, 1000, data());
    expect(feed.events.map((e) => `${e.kind}${e.seq}`)).toEqual(['chunk0', 'gap1', 'chunk2', 'chunk3']);
    expect(out.stats()).toMatchObject({ skippedByNode: 1, discontinuities: 1, chunksDue: 4 });
  });

  it('end() hands over the rest, skipping holes at their deadlines, then ends the feeds', () => {
    const { out, feed } = make();
    out.push(0, 1000, data());
    out.push(2, 1000, data());
    out.end();
    out.push(1, 1000, data()); // seqs below the end may still arrive
    out.push(9, 1000, data()); // beyond the end: ignored
    vi.advanceTimersByTime(10_000);
    expect(feed.events.map((e) => `${e.kind}${e.seq ?? ''}`)).toEqual(['chunk0', 'chunk1', 'chunk2', 'end']);
    expect(out.stats().state).toBe('ended');
  });

  it('end() before the prebuffer plays what is there', () => {
    const { out, feed } = make();
    out.push(0, 500, data());
    out.end();
    expect(feed.events.map((e) => e.kind)).toEqual(['chunk', 'end']);
  });

  it('prebuffers again after a long stall instead of skipping forever', () => {
    const { out, feed } = make({ rebufferAfterGapMs: 3000 });
    for (let s = 0; s < 3; s++) out.push(s, 1000, data());
    vi.advanceTimersByTime(10_000);
    expect(feed.gaps()).toEqual([3, 4, 5]);
    expect(out.stats()).toMatchObject({ state: 'buffering', rebuffers: 1 });
    // the source comes back late: 3..5 are past their turn, 6 onwards play after a new prebuffer
    for (let s = 3; s < 9; s++) out.push(s, 1000, data());
    expect(feed.chunks()).toEqual([0, 1, 2, 6, 7, 8]);
    expect(out.stats()).toMatchObject({ state: 'playing', lateChunks: 3, discontinuities: 3 });
  });

  it('slides the window when a chunk is far ahead', () => {
    const warnings: string[] = [];
    const { out, feed } = make({ maxPendingChunks: 4, onWarning: (w) => warnings.push(w.code) });
    out.push(0, 1000, data());
    out.push(1, 1000, data());
    out.push(9, 1000, data());
    expect(warnings).toEqual(['window-slid']);
    expect(feed.chunks()).toEqual([0, 1]);
    expect(feed.gaps()).toEqual([2, 3, 4, 5]);
    expect(out.stats().state).toBe('buffering');
  });

  it('reports the playhead and survives a feed that throws', () => {
    const warnings: string[] = [];
    const { out, feed } = make({ onWarning: (w) => warnings.push(w.code) });
    out.subscribe({ onChunk: () => { throw new Error('boom'); }, onGap: () => undefined });
    expect(out.playheadSeq()).toBeUndefined();
    for (let s = 0; s < 5; s++) out.push(s, 1000, data());
    expect(out.playheadSeq()).toBe(0);
    vi.advanceTimersByTime(1500);
    expect(out.playheadSeq()).toBe(1);
    expect(feed.chunks()).toEqual([0, 1, 2, 3]);
    expect(warnings[0]).toBe('feed-failed');
  });

  it('rejects bad input clearly and ignores duplicates', () => {
    const { out } = make();
    expect(() => out.push(-1, 1000, data())).toThrow(/non-negative integer/);
    expect(() => out.push(1, 0, data())).toThrow(/duration must be a positive/);
    out.push(0, 1000, data());
    out.push(0, 1000, data());
    expect(out.stats().duplicateChunks).toBe(1);
    expect(() => new LiveOutput({ prebufferMs: 5000, playerBufferMs: 1000 })).toThrow(/at least prebufferMs/);
  });
});
