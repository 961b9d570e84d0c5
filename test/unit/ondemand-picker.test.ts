// The on-demand picker on its own (sans-IO): playback window by deadline, urgent pieces to two
// partners, rarest first beyond the window, the window sized from the measured rate, seeking.
// Through the download data plane: ondemand-plane.test.ts.
import { describe, expect, it } from 'vitest';
import { BufferMap, RemoteBufferMap } from '../../src/engine/buffer-map.js';
import { OnDemandPicker, type OnDemandPickerOptions } from '../../src/engine/ondemand-picker.js';
import { PeerEstimates } from '../../src/engine/peer-estimates.js';
import type { PickContext } from '../../src/engine/picker.js';
import { RequestQueue } from '../../src/engine/request-queue.js';

const PIECE = 256 * 1024;
/** The player holds media, though none beyond what it shows (it plays; the window is sized from the rate). */
const PLAYING = { ms: 0, at: 1000 };
const OPTS: OnDemandPickerOptions = { endgameCopies: 2, windowMs: 4000, minWindowPieces: 4, maxWindowPieces: 32, urgentMs: 3000, urgentCopies: 2, tailBytes: 0 };

function estimates(maxWindow = 8): PeerEstimates {
  return new PeerEstimates({ initialRttMs: 50, initialThroughputBps: 8e7, weightPct: 25, maxWindow, initialWindow: maxWindow });
}

function ctx(o: { count: number; maps: Record<string, number[]>; held?: Set<number>; requests?: RequestQueue; perPartner?: number }): PickContext {
  const maps = new RemoteBufferMap();
  for (const [peer, ids] of Object.entries(o.maps)) maps.update(peer, BufferMap.derive(0, o.count, (i) => ids.includes(i)), 0);
  let s = 7;
  const held = o.held ?? new Set<number>();
  return {
    now: 1000,
    fromId: 0,
    toId: o.count,
    has: (i) => held.has(i),
    partners: Object.keys(o.maps),
    maps,
    requests: o.requests ?? new RequestQueue(),
    estimates: estimates(o.perPartner ?? 8),
    chunkBytes: PIECE,
    maxInFlightPerPartner: o.perPartner ?? 8,
    random: { next: () => ((s = (s * 16807) % 2147483647) / 2147483647) },
  };
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

function inFlight(requests: RequestQueue, chunkId: number, peerId: string): void {
  requests.add({ chunkId, peerId, sentAt: 900, timeoutAt: 20_000, bytes: PIECE, expectedAt: 1100, redundant: false });
}

describe('on-demand picker', () => {
  it('asks for the playback window first, in deadline order, then rarest first beyond it', () => {
    const p = new OnDemandPicker(OPTS);
    p.setPlayhead(10, 0); // no rate measured yet: the smallest window (4 pieces)
    // piece 30 is the rarest (one holder), everything else is held by both partners
    const picks = p.pick(ctx({ count: 40, maps: { a: range(0, 40), b: range(0, 40).filter((i) => i !== 30) }, perPartner: 4 }));
    // the playhead's piece is due now (urgent): asked of both partners
    expect(picks.slice(0, 5).map((x) => x.chunkId)).toEqual([10, 10, 11, 12, 13]);
    expect(picks[5]!.chunkId).toBe(30);
    expect(picks).toHaveLength(8); // both partners' windows are full
    expect(p.window(PIECE, 40)).toEqual({ from: 10, to: 14 });
  });

  it('sizes the window from the measured rate, within its bounds', () => {
    const p = new OnDemandPicker(OPTS);
    p.setPlayhead(0, 0);
    expect(p.window(PIECE, 1000)).toEqual({ from: 0, to: 4 });
    // Before the player holds media (its first frame, after a seek): the least, whatever the rate.
    p.setPlayhead(0, 1024 * 1024);
    expect(p.window(PIECE, 1000)).toEqual({ from: 0, to: 4 });
    p.setPlayhead(0, 1024 * 1024, PLAYING); // 1 MiB/s × 4 s = 16 pieces of 256 KiB
    expect(p.window(PIECE, 1000)).toEqual({ from: 0, to: 16 });
    p.setPlayhead(0, 100 * 1024 * 1024, PLAYING);
    expect(p.window(PIECE, 1000)).toEqual({ from: 0, to: 32 });
    p.setPlayhead(990, 1024 * 1024, PLAYING);
    expect(p.window(PIECE, 1000)).toEqual({ from: 990, to: 1000 }); // the end of the file
  });

  it('sends an urgent piece already in flight to a second partner, a later window piece to one only', () => {
    const p = new OnDemandPicker(OPTS);
    p.setPlayhead(0, 256 * 1024); // one piece per second: pieces 0-2 are due within 3 s (urgent), 3 is not
    const requests = new RequestQueue();
    inFlight(requests, 0, 'a');
    inFlight(requests, 3, 'a');
    const picks = p.pick(ctx({ count: 8, maps: { a: range(0, 8), b: range(0, 8) }, requests }));
    const by = (id: number) => picks.filter((x) => x.chunkId === id);
    expect(by(0)).toEqual([expect.objectContaining({ peerId: 'b', redundant: true })]);
    expect(by(3)).toEqual([]);
    expect(by(1)).toHaveLength(2); // urgent and not in flight: asked of both at once
    expect(new Set(by(1).map((x) => x.peerId))).toEqual(new Set(['a', 'b']));
    expect(by(4)).toHaveLength(1);
  });

  it('never asks for held pieces or pieces nobody advertises, and keeps a slot free for a window piece waiting for a supplier', () => {
    const p = new OnDemandPicker(OPTS);
    p.setPlayhead(2, 0);
    const requests = new RequestQueue();
    // b holds piece 3 (in the window) but its window is full with 4 requests out; a does not hold 3
    for (const id of [20, 21, 22, 23]) inFlight(requests, id, 'b');
    const picks = p.pick(ctx({ count: 30, held: new Set([2, 4]), maps: { a: range(0, 30).filter((i) => i !== 3), b: range(0, 30) }, requests, perPartner: 4 }));
    const ids = picks.map((x) => x.chunkId);
    expect(ids).not.toContain(2);
    expect(ids).not.toContain(4);
    expect(ids).not.toContain(3); // nobody open holds it
    expect(ids.slice(0, 1)).toEqual([5]);
    // a: 1 window piece (5) + rarest first up to its window less the slot kept for piece 3
    expect(picks.filter((x) => x.peerId === 'a')).toHaveLength(3);
  });

  it('before the player holds media, asks for what its first frame waits for first (head, then tail), due at the start deadline', () => {
    const p = new OnDemandPicker({ ...OPTS, urgentCopies: 1, tailBytes: 2 * PIECE, headBytes: 3 * PIECE, startMs: 1000 });
    p.setPlayhead(10, 0);
    const c = ctx({ count: 40, maps: { a: range(0, 40), b: range(0, 40) }, perPartner: 8 });
    const first = p.pick(c).slice(0, 6);
    expect(first.map((x) => x.chunkId)).toEqual([10, 11, 12, 37, 38, 39]);
    expect(first.map((x) => x.dueInMs)).toEqual([1000, 1000, 1000, 1000, 1000, 1000]);
    // spread over both partners rather than queued at one
    expect(new Set(first.map((x) => x.peerId))).toEqual(new Set(['a', 'b']));
    // 400 ms after the play they are due in 600 ms
    const later = ctx({ count: 40, maps: { a: range(0, 40) }, perPartner: 8 });
    later.now = 1400;
    expect(p.pick(later)[0]).toMatchObject({ chunkId: 10, dueInMs: 600 });
    // playing with 2 s in hand: only the playhead's piece is dated from the buffer's end, the next
    // ones by their distance at the rate (one piece a second)
    p.setPlayhead(10, PIECE, { ms: 2000, at: 1400 });
    const playing = p.pick(later);
    expect(playing.find((x) => x.chunkId === 10)?.dueInMs).toBe(2000);
    expect(playing.find((x) => x.chunkId === 11)?.dueInMs).toBe(3000);
    // a seek: the player holds nothing again, and the start deadline runs from the seek
    p.setPlayhead(30, PIECE);
    const seek = ctx({ count: 40, maps: { a: range(0, 40) }, perPartner: 8 });
    seek.now = 5000;
    expect(p.pick(seek).slice(0, 3).map((x) => [x.chunkId, x.dueInMs])).toEqual([[30, 1000], [31, 1000], [32, 1000]]);
  });

  it('a jump back to just behind the old window (the player read the first second, then the end, then plays from the start) keeps the requests ahead', () => {
    const p = new OnDemandPicker(OPTS);
    const requests = new RequestQueue();
    p.setPlayhead(3, 0);
    p.pick(ctx({ count: 100, maps: { a: range(0, 100) }, requests }));
    for (const id of [3, 4, 5, 6]) if (requests.forChunk(id).length === 0) inFlight(requests, id, 'a');
    p.setPlayhead(0, 0);
    expect(p.cancellable(requests, PIECE, 100)).toEqual([]);
    // a seek far ahead gives up what the old window asked for
    p.setPlayhead(60, 0);
    const gone = p.cancellable(requests, PIECE, 100).map((r) => r.chunkId);
    expect(gone).toContain(3);
    expect(gone.filter((id) => id >= 4)).toEqual([]); // not in the old window [0, 4)
  });

  it("fetches the file's tail right after the playhead's piece (players probe the end first)", () => {
    const p = new OnDemandPicker({ ...OPTS, tailBytes: 2 * PIECE });
    p.setPlayhead(10, 0);
    const picks = p.pick(ctx({ count: 40, maps: { a: range(0, 40) }, perPartner: 8 }));
    // the last 2 pieces' bytes may start in the third piece from the end (the last one is short)
    expect(picks.map((x) => x.chunkId).slice(0, 6)).toEqual([10, 37, 38, 39, 11, 12]);
    // once held, the tail costs nothing
    const later = p.pick(ctx({ count: 40, held: new Set([10, 37, 38, 39]), maps: { a: range(0, 40) }, perPartner: 8 }));
    expect(later.map((x) => x.chunkId).slice(0, 3)).toEqual([11, 12, 13]);
  });

  it("fetches only the tail the player still reads: told the duration, mpv reads the last piece (setTailBytes), and undefined restores the options'", () => {
    const p = new OnDemandPicker({ ...OPTS, tailBytes: 4 * PIECE });
    p.setTailBytes(PIECE);
    p.setPlayhead(10, 0);
    const c = () => ctx({ count: 40, maps: { a: range(0, 40) }, perPartner: 8 });
    expect(p.pick(c()).map((x) => x.chunkId).slice(0, 4)).toEqual([10, 38, 39, 11]);
    p.setTailBytes(undefined);
    expect(p.pick(c()).map((x) => x.chunkId).slice(0, 6)).toEqual([10, 35, 36, 37, 38, 39]);
  });

  it('the box holding more than the probe before mpv starts (setHeadBytes): the window spans all of it at once, due at the start deadline', () => {
    const p = new OnDemandPicker({ ...OPTS, urgentCopies: 1, headBytes: 2 * PIECE, startMs: 1000 });
    p.setHeadBytes(7 * PIECE);
    p.setPlayhead(0, 0);
    const c = () => ctx({ count: 40, maps: { a: range(0, 40), b: range(0, 40) }, perPartner: 8 });
    expect(p.window(PIECE, 40)).toEqual({ from: 0, to: 7 });
    const first = p.pick(c()).slice(0, 7);
    expect(first.map((x) => [x.chunkId, x.dueInMs])).toEqual(range(0, 7).map((i) => [i, 1000]));
    // undefined restores the options' head (the least window, 4 pieces)
    p.setHeadBytes(undefined);
    expect(p.window(PIECE, 40)).toEqual({ from: 0, to: 4 });
    expect(p.pick(c()).slice(0, 2).map((x) => x.dueInMs)).toEqual([1000, 1000]);
  });

  it("keeps our queue at a slow partner short: only what it delivers within half the urgent time, the playhead's piece always", () => {
    const p = new OnDemandPicker(OPTS);
    p.setPlayhead(10, 0);
    const c = ctx({ count: 40, maps: { a: range(0, 40) }, perPartner: 8 });
    // one piece a second from this partner: the urgent piece (due now) fits, the next would come after 1.5 s
    c.estimates = new PeerEstimates({ initialRttMs: 50, initialThroughputBps: PIECE * 8, weightPct: 25, maxWindow: 8, initialWindow: 8 });
    expect(p.pick(c).map((x) => x.chunkId)).toEqual([10]);
  });

  it('still asks a partner with nothing in flight from us beyond the window, however slow its estimate (else the download could stop for good)', () => {
    const p = new OnDemandPicker(OPTS);
    p.setPlayhead(10, 0);
    // the window is held; the partner's estimate says a piece every 10 s (its answers once waited behind others' deadlines)
    const c = ctx({ count: 40, held: new Set([10, 11, 12, 13]), maps: { a: range(0, 40) }, perPartner: 8 });
    c.estimates = new PeerEstimates({ initialRttMs: 50, initialThroughputBps: PIECE * 0.8, weightPct: 25, maxWindow: 8, initialWindow: 8 });
    expect(p.pick(c)).toHaveLength(1);
  });

  it('asks a partner for a window piece it delivers after the urgent horizon but before the piece is due', () => {
    const p = new OnDemandPicker({ ...OPTS, windowMs: 8000 });
    p.setPlayhead(10, PIECE, PLAYING); // the player reads a piece a second: piece 10 + k is due in k s
    const c = ctx({ count: 40, maps: { a: range(0, 40) }, perPartner: 8 });
    // two pieces a second from this partner: the k-th request is expected after about k / 2 s
    c.estimates = new PeerEstimates({ initialRttMs: 50, initialThroughputBps: PIECE * 16, weightPct: 25, maxWindow: 8, initialWindow: 8 });
    const picks = p.pick(c);
    expect(picks.slice(0, 3).map((x) => x.chunkId)).toEqual([10, 11, 12]);
    // beyond the urgent 3 s, pieces go in rarest-first order (all equal here: at random), each
    // only if expected by its deadline
    const later = picks.filter((x) => x.chunkId >= 13);
    expect(later.length).toBeGreaterThanOrEqual(4);
    for (const x of picks) {
      expect(x.dueInMs).toBe((x.chunkId - 10) * 1000);
      // within half the urgent time or by its deadline (the playhead's piece goes anyway)
      if (x.chunkId !== 10) expect(x.expectedAt).toBeLessThanOrEqual(c.now + Math.max(OPTS.urgentMs / 2, x.dueInMs!));
    }
  });

  it('asks for urgent window pieces in deadline order, the rest of the window rarest first (different viewers, different pieces)', () => {
    const firsts = new Set<number>();
    for (let seed = 1; seed <= 20; seed++) {
      const p = new OnDemandPicker({ ...OPTS, windowMs: 12_000, urgentCopies: 1 });
      p.setPlayhead(10, PIECE, PLAYING); // a piece a second: 10-12 are urgent (due within 3 s), 13-21 are not
      // the seed holds everything; a viewer ahead holds 10-17 and 20-21, so 18 and 19 are the rarest
      const c = ctx({ count: 40, maps: { seed: range(0, 40), ahead: [...range(0, 18), 20, 21] }, perPartner: 8 });
      let r = seed * 7919;
      c.random = { next: () => ((r = (r * 16807) % 2147483647) / 2147483647) };
      const ids = p.pick(c).map((x) => x.chunkId);
      expect(ids.slice(0, 3)).toEqual([10, 11, 12]);
      expect(new Set(ids.slice(3, 5))).toEqual(new Set([18, 19]));
      expect(new Set(ids.slice(5, 12))).toEqual(new Set([13, 14, 15, 16, 17, 20, 21]));
      firsts.add(ids[5]!);
    }
    // equally rare pieces in random order: viewers near one playhead fetch different pieces to trade
    expect(firsts.size).toBeGreaterThan(3);
  });

  it('asks a piece needed now that waits behind another at one partner also of a partner with nothing in flight from us', () => {
    const p = new OnDemandPicker({ ...OPTS, urgentCopies: 1, tailBytes: 2 * PIECE, hedgeMs: 1000 });
    p.setPlayhead(0, 0);
    const requests = new RequestQueue();
    // the first pick saw one partner: the playhead's piece and the tail (37-39) all queued at a
    for (const id of [0, 37, 38, 39, 1]) inFlight(requests, id, 'a');
    const picks = p.pick(ctx({ count: 40, maps: { a: range(0, 40), b: range(0, 40), c: range(0, 40) }, requests, perPartner: 4 }));
    const hedged = picks.filter((x) => x.redundant);
    // b and c come with nothing in flight: each also takes one tail piece; 0 is first at a
    expect(hedged.map((x) => [x.chunkId, x.dueInMs])).toEqual([
      [37, 0],
      [38, 0],
    ]);
    expect(new Set(hedged.map((x) => x.peerId))).toEqual(new Set(['b', 'c']));
    // with no idle partner, nothing moves
    const busy = new RequestQueue();
    for (const id of [0, 37, 38, 39]) inFlight(busy, id, 'a');
    inFlight(busy, 5, 'b');
    expect(p.pick(ctx({ count: 40, maps: { a: range(0, 40), b: range(0, 40) }, requests: busy, perPartner: 4 })).filter((x) => x.redundant)).toEqual([]);
    // hedged requests off (hedgeMs 0): nothing is asked twice
    const off = new OnDemandPicker({ ...OPTS, urgentCopies: 1, tailBytes: 2 * PIECE, hedgeMs: 0 });
    off.setPlayhead(0, 0);
    expect(off.pick(ctx({ count: 40, maps: { a: range(0, 40), b: range(0, 40), c: range(0, 40) }, requests, perPartner: 4 })).filter((x) => x.redundant)).toEqual([]);
  });

  it('spreads the pieces needed now over partners, waiting up to spreadMs for one that holds none of them', () => {
    const p = new OnDemandPicker({ ...OPTS, urgentCopies: 1, tailBytes: 2 * PIECE, spreadMs: 300 });
    p.setPlayhead(0, 0);
    const requests = new RequestQueue();
    const needed = (picks: ReturnType<OnDemandPicker['pick']>) => picks.filter((x) => x.dueInMs === 0).map((x) => `${x.chunkId}:${x.peerId}`);
    // one partner so far: it gets the playhead's piece; the tail waits for partners of its own
    const first = p.pick(ctx({ count: 40, maps: { a: range(0, 40) }, requests, perPartner: 8 }));
    expect(needed(first)).toEqual(['0:a']);
    inFlight(requests, 0, 'a');
    // two more partners come: one tail piece each; the third has nobody of its own and waits
    const c = ctx({ count: 40, maps: { a: range(0, 40), b: range(0, 40), c: range(0, 40) }, requests, perPartner: 8 });
    c.now = 1100;
    const second = needed(p.pick(c));
    expect(second.map((x) => x.split(':')[0])).toEqual(['37', '38']);
    expect(new Set(second.map((x) => x.split(':')[1]))).toEqual(new Set(['b', 'c']));
    for (const x of second) inFlight(requests, Number(x.split(':')[0]), x.split(':')[1]!);
    c.now = 1299;
    expect(needed(p.pick(c))).toEqual([]);
    // 300 ms after it first waited, it queues where it is expected soonest
    c.now = 1300;
    expect(needed(p.pick(c)).map((x) => x.split(':')[0])).toEqual(['39']);
  });

  it('asks a piece needed now that is still missing hedgeMs after it was asked of an idle partner too', () => {
    const requests = new RequestQueue();
    inFlight(requests, 0, 'a'); // asked at 900
    inFlight(requests, 20, 'b'); // b is not idle, c is
    const pick = (hedgeMs: number) => new OnDemandPicker({ ...OPTS, urgentCopies: 1, hedgeMs }).pick(ctx({ count: 40, held: new Set([1, 2, 3]), maps: { a: range(0, 40), b: range(0, 40), c: range(0, 40) }, requests, perPartner: 4 }));
    // now is 1000: 100 ms after it was asked
    expect(pick(100).filter((x) => x.redundant).map((x) => [x.chunkId, x.peerId, x.dueInMs])).toEqual([[0, 'c', 0]]);
    expect(pick(200).filter((x) => x.redundant)).toEqual([]);
    expect(pick(0).filter((x) => x.redundant)).toEqual([]);
  });

  it('asks an urgent window piece whose request is overdue also of a partner expected by its deadline', () => {
    const pick = (expectedAt: number, slow = false) => {
      const requests = new RequestQueue();
      requests.add({ chunkId: 12, peerId: 'a', sentAt: 0, timeoutAt: 20_000, bytes: PIECE, expectedAt, redundant: false });
      const p = new OnDemandPicker({ ...OPTS, urgentCopies: 1 });
      p.setPlayhead(10, PIECE); // a piece a second: the window is 10-13, and 12 is due in 2 s (urgent)
      const c = ctx({ count: 40, held: new Set([10, 11, 13]), maps: { a: range(0, 40), b: range(0, 40) }, requests, perPartner: 4 });
      // slow: 3 s a piece, after the deadline
      if (slow) c.estimates = new PeerEstimates({ initialRttMs: 50, initialThroughputBps: (PIECE * 8) / 3, weightPct: 25, maxWindow: 4, initialWindow: 4 });
      return p.pick(c).filter((x) => x.chunkId === 12);
    };
    // now is 1000: a was expected at 900
    expect(pick(900).map((x) => [x.peerId, x.redundant, x.dueInMs])).toEqual([['b', true, 2000]]);
    expect(pick(1100)).toEqual([]); // not overdue yet
    expect(pick(900, true)).toEqual([]); // nobody would bring it in time
  });

  it('dates each piece from when the player’s buffer runs dry, not from the piece it reads', () => {
    const p = new OnDemandPicker(OPTS);
    p.setPlayhead(10, PIECE); // a piece a second
    expect(p.dueInMs(10, PIECE, 1000)).toBe(0); // nothing known of the player's buffer: due at once
    expect(p.dueInMs(12, PIECE, 1000)).toBe(2000);
    p.setPlayhead(10, PIECE, { ms: 5000, at: 1000 }); // it shows media 5 s behind what it reads
    expect(p.dueInMs(10, PIECE, 1000)).toBe(5000);
    expect(p.dueInMs(12, PIECE, 3000)).toBe(5000); // 2 s later the buffer holds 3 s; 12 is 2 s beyond
    expect(p.dueInMs(10, PIECE, 9000)).toBe(0); // dry
    // with seconds in hand nothing is urgent: after the playhead's piece the window goes rarest first
    // (11 is held by two partners, the rest by one); with none, 11 and 12 are urgent and come next
    const picks = p.pick(ctx({ count: 40, maps: { a: range(0, 40), b: range(10, 12) } }));
    expect(picks.find((x) => x.chunkId === 10)?.dueInMs).toBe(5000);
    expect(picks[1]?.chunkId).not.toBe(11);
    const bare = new OnDemandPicker(OPTS);
    bare.setPlayhead(10, PIECE);
    expect([...new Set(bare.pick(ctx({ count: 40, maps: { a: range(0, 40), b: range(10, 12) } })).map((x) => x.chunkId))].slice(0, 3)).toEqual([10, 11, 12]);
    p.setPlayhead(30, PIECE); // a seek: the player's buffer is gone
    expect(p.dueInMs(30, PIECE, 1000)).toBe(0);
  });

  it('seeking moves the window at once and names the requests the new window no longer needs', () => {
    const p = new OnDemandPicker(OPTS);
    p.setPlayhead(0, 0);
    const requests = new RequestQueue();
    const first = p.pick(ctx({ count: 100, maps: { a: range(0, 100) }, requests, perPartner: 4 }));
    expect(first.map((x) => x.chunkId)).toEqual([0, 1, 2, 3]); // one partner: no second copy of piece 0
    for (const r of first) inFlight(requests, r.chunkId, r.peerId);
    inFlight(requests, 90, 'b'); // a rarest-first request outside any window stays
    p.setPlayhead(70, 0);
    const cancel = p.cancellable(requests, PIECE, 100);
    expect(cancel.map((r) => r.chunkId).sort((x, y) => x - y)).toEqual([0, 1, 2, 3]);
    for (const r of cancel) requests.cancel(r);
    const next = p.pick(ctx({ count: 100, maps: { a: range(0, 100) }, requests, perPartner: 4 }));
    expect(next.map((x) => x.chunkId)).toEqual([70, 71, 72, 73]);
    expect(requests.wasRequested(0, 'a')).toBe(true); // a late answer is still taken
  });
});
