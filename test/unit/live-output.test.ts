import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChunkRecord } from '../../src/engine/chunk-buffer.js';
import { Playback } from '../../src/engine/playback.js';
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

/** A playback clock the test moves by hand: 1 s chunks from id 0, due from `start` on. */
function clock(): { start: number | undefined; dueAt(seq: number): number | undefined } {
  return {
    start: undefined,
    dueAt(seq) {
      return this.start === undefined ? undefined : this.start + seq * 1000;
    },
  };
}

describe('LiveOutput follows the playback clock', () => {
  let t0 = 0;
  beforeEach(() => {
    vi.useFakeTimers();
    t0 = Date.now();
  });
  afterEach(() => vi.useRealTimers());

  const make = (o: Partial<LiveOutputOptions> = {}) => {
    const schedule = clock();
    const out = new LiveOutput({ schedule, playerBufferMs: 3000, clock: { now: () => Date.now() }, ...o });
    const feed = collector();
    out.subscribe(feed);
    return { out, feed, schedule };
  };

  it('holds everything until the clock starts, then feeds the player up to its buffer ahead of the clock', () => {
    const { out, feed, schedule } = make();
    for (let s = 0; s < 8; s++) out.push(s, 1000, data());
    vi.advanceTimersByTime(5000);
    expect(feed.events).toEqual([]);
    expect(out.stats()).toMatchObject({ state: 'waiting', pendingChunks: 8, pendingBytes: 80 });
    schedule.start = Date.now(); // the engine's prebuffer is held: playback starts
    vi.advanceTimersByTime(0);
    vi.advanceTimersByTime(250);
    // due at start + seq s: out once due − 3000 ≤ now, so 0..3 at once
    expect(feed.chunks()).toEqual([0, 1, 2, 3]);
    vi.advanceTimersByTime(750);
    expect(feed.chunks()).toEqual([0, 1, 2, 3, 4]);
    vi.advanceTimersByTime(3000);
    expect(feed.chunks()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(feed.events.map((e) => e.t - t0)).toEqual([5250, 5250, 5250, 5250, 6000, 7000, 8000, 9000]);
    expect(out.stats()).toMatchObject({ state: 'playing', chunksOut: 8, discontinuities: 0, bytesOut: 80, mediaMsOut: 8000, pendingChunks: 0, pendingBytes: 0 });
    expect(out.stats().firstReleaseMs).toBe(5250);
  });

  it('passes the playhead’s skips on in their turn, and an id it jumped over as a gap', () => {
    const { out, feed, schedule } = make({ playerBufferMs: 10_000 });
    schedule.start = Date.now();
    out.push(0, 1000, data());
    out.skip(1);
    out.push(2, 1000, data());
    out.push(5, 1000, data()); // the playhead jumped from 3 to 5
    vi.advanceTimersByTime(1);
    expect(feed.events.map((e) => `${e.kind}${e.seq}`)).toEqual(['chunk0', 'gap1', 'chunk2', 'gap3', 'gap4', 'chunk5']);
    expect(out.stats()).toMatchObject({ discontinuities: 3, chunksOut: 3 });
  });

  it('drops what comes for an id already passed, and counts it', () => {
    const { out, feed, schedule } = make({ playerBufferMs: 10_000 });
    schedule.start = Date.now();
    out.push(0, 1000, data());
    out.push(1, 1000, data());
    out.push(1, 1000, data());
    out.skip(0);
    expect(feed.chunks()).toEqual([0, 1]);
    expect(out.stats().lateChunks).toBe(2);
  });

  it('stops feeding when the clock moves later (the engine waits), and goes on when it is due', () => {
    const { out, feed, schedule } = make({ playerBufferMs: 1000 });
    schedule.start = Date.now();
    for (let s = 0; s < 4; s++) out.push(s, 1000, data());
    expect(feed.chunks()).toEqual([0, 1]);
    schedule.start = Date.now() + 5000; // a rebuffer: every deadline 5 s later
    vi.advanceTimersByTime(5999);
    expect(feed.chunks()).toEqual([0, 1]);
    vi.advanceTimersByTime(1);
    expect(feed.chunks()).toEqual([0, 1, 2]);
  });

  it('end() hands over the rest in its turn, then ends the feeds; before the clock started, at once', () => {
    const a = make({ playerBufferMs: 1000 });
    a.schedule.start = Date.now();
    for (let s = 0; s < 3; s++) a.out.push(s, 1000, data());
    a.out.end();
    a.out.push(3, 1000, data()); // after the end: ignored
    expect(a.feed.events.map((e) => `${e.kind}${e.seq ?? ''}`)).toEqual(['chunk0', 'chunk1']);
    vi.advanceTimersByTime(1000);
    expect(a.feed.events.map((e) => `${e.kind}${e.seq ?? ''}`)).toEqual(['chunk0', 'chunk1', 'chunk2', 'end']);
    expect(a.out.stats().state).toBe('ended');

    const b = make();
    b.out.push(0, 500, data());
    b.out.end();
    expect(b.feed.events.map((e) => e.kind)).toEqual(['chunk', 'end']);
  });

  it('reports the chunk the clock shows now, and survives a feed that throws', () => {
    const warnings: string[] = [];
    const { out, feed, schedule } = make({ onWarning: (w) => warnings.push(w.code) });
    out.subscribe({ onChunk: () => { throw new Error('boom'); }, onGap: () => undefined });
    expect(out.playheadSeq()).toBeUndefined();
    schedule.start = Date.now();
    for (let s = 0; s < 5; s++) out.push(s, 1000, data());
    expect(out.playheadSeq()).toBe(0);
    vi.advanceTimersByTime(1500);
    expect(out.playheadSeq()).toBe(1);
    expect(feed.chunks()).toEqual([0, 1, 2, 3, 4]);
    expect(warnings[0]).toBe('feed-failed');
  });

  it('rejects bad input clearly', () => {
    const { out } = make();
    expect(() => out.push(-1, 1000, data())).toThrow(/non-negative integer/);
    expect(() => out.push(1, 0, data())).toThrow(/duration must be a positive/);
    expect(() => out.skip(1.5)).toThrow(/non-negative integer/);
    expect(() => new LiveOutput({ schedule: clock(), playerBufferMs: 0 })).toThrow(/playerBufferMs must be positive/);
  });

  it('with the engine’s playhead as its clock: the player starts when playback starts and gets each chunk by its deadline', () => {
    const playback = new Playback({ chunkMs: 1000, prebufferMs: 2000 });
    const out = new LiveOutput({ schedule: playback, playerBufferMs: 1000, clock: { now: () => Date.now() } });
    const feed = collector();
    out.subscribe(feed);
    const held = new Map<number, ChunkRecord>();
    const sink = {
      ready: (c: ChunkRecord) => out.push(c.id, 1000, c.data),
      skipped: (id: number) => out.skip(id),
      started: () => out.clockMoved(),
    };
    const arrive = (id: number | undefined) => {
      if (id !== undefined) held.set(id, { id, timestampMs: id * 1000, data: data(), signature: new Uint8Array(0) });
      playback.advance(Date.now(), (i) => held.get(i), sink);
      vi.advanceTimersByTime(0);
    };
    playback.join(0, Date.now());
    arrive(0);
    expect(feed.events).toEqual([]); // the engine prebuffers: the player waits with it
    vi.advanceTimersByTime(500);
    arrive(1); // prebuffer held: playback starts now
    const start = playback.playStart!;
    expect(start).toBe(t0 + 500);
    expect(feed.chunks()).toEqual([0, 1]);
    vi.advanceTimersByTime(1200);
    arrive(2);
    expect(feed.chunks()).toEqual([0, 1, 2]);
    // 3 never comes: skipped at its deadline, and the player hears of it then
    vi.advanceTimersByTime(start + 3000 - Date.now() + 1);
    arrive(undefined);
    vi.advanceTimersByTime(250);
    expect(feed.gaps()).toEqual([3]);
    for (const e of feed.events.filter((x) => x.kind === 'chunk')) expect(e.t).toBeLessThanOrEqual(playback.dueAt(e.seq!)!);
    expect(playback.continuityIndex).toBe(0.75);
  });
});
