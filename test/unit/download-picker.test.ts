import { describe, expect, it } from 'vitest';
import { BufferMap, RemoteBufferMap } from '../../src/engine/buffer-map.js';
import { DownloadPicker } from '../../src/engine/download-picker.js';
import { PeerEstimates } from '../../src/engine/peer-estimates.js';
import type { PickContext } from '../../src/engine/picker.js';
import { RequestQueue } from '../../src/engine/request-queue.js';

const PIECE = 256 * 1024;

function ctx(over: Omit<Partial<PickContext>, 'maps'> & { held?: Set<number>; maps: Record<string, number[]>; count: number; seed?: number }): PickContext {
  const maps = new RemoteBufferMap();
  for (const [peer, ids] of Object.entries(over.maps)) maps.update(peer, BufferMap.derive(0, over.count, (i) => ids.includes(i)), 0);
  let s = (over.seed ?? 1) >>> 0;
  const mulberry32 = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const held = over.held ?? new Set<number>();
  return {
    now: 1000,
    fromId: 0,
    toId: over.count,
    has: (i) => held.has(i),
    partners: Object.keys(over.maps),
    maps,
    requests: over.requests ?? new RequestQueue(),
    estimates: over.estimates ?? new PeerEstimates({ initialRttMs: 50, initialThroughputBps: 8e7, weightPct: 25, maxWindow: 4 }),
    chunkBytes: PIECE,
    maxInFlightPerPartner: over.maxInFlightPerPartner ?? 4,
    random: { next: mulberry32 },
  };
}

describe('download picker', () => {
  it('asks for the rarest pieces first', () => {
    const picker = new DownloadPicker({ endgameCopies: 2 });
    // piece 3 is held by one partner only, piece 1 by two, the rest by all three
    const c = ctx({ count: 6, maps: { a: [0, 1, 2, 3, 4, 5], b: [0, 1, 2, 4, 5], c: [0, 2, 4, 5] }, maxInFlightPerPartner: 1 });
    const picks = picker.pick(c);
    expect(picks.map((p) => p.chunkId).slice(0, 2)).toEqual([3, 1]);
    expect(picks.find((p) => p.chunkId === 3)?.peerId).toBe('a');
    expect(picks.find((p) => p.chunkId === 1)?.peerId).toBe('b');
    expect(picks).toHaveLength(3); // one request per partner window
    expect(picker.endgame).toBe(false);
  });

  it('never asks for held pieces, pieces nobody has, or more than a window per partner', () => {
    const picker = new DownloadPicker({ endgameCopies: 2 });
    const c = ctx({ count: 10, held: new Set([0, 1]), maps: { a: [0, 1, 2, 3, 4, 5, 6], b: [0, 1, 2, 3] } });
    const picks = picker.pick(c);
    const ids = picks.map((p) => p.chunkId);
    expect(ids.every((i) => i >= 2 && i <= 6)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const peer of ['a', 'b']) expect(picks.filter((p) => p.peerId === peer).length).toBeLessThanOrEqual(2); // initial AIMD window
  });

  it('spreads leechers over different pieces (random tie-break)', () => {
    const firsts = new Set<number>();
    for (let seed = 1; seed < 30; seed++) {
      const picks = new DownloadPicker({ endgameCopies: 1 }).pick(ctx({ count: 64, maps: { seed: Array.from({ length: 64 }, (_, i) => i) }, seed, maxInFlightPerPartner: 1 }));
      firsts.add(picks[0]!.chunkId);
    }
    expect(firsts.size).toBeGreaterThan(10);
  });

  it('skips partners excluded for a piece and busy partners', () => {
    const requests = new RequestQueue();
    requests.exclude(0, 'a');
    const estimates = new PeerEstimates({ initialRttMs: 50, initialThroughputBps: 8e7, weightPct: 25, maxWindow: 4 });
    estimates.onReject('b', 900, 1000, true, 500);
    const picks = new DownloadPicker({ endgameCopies: 2 }).pick(ctx({ count: 1, maps: { a: [0], b: [0], c: [0] }, requests, estimates }));
    expect(picks).toEqual([expect.objectContaining({ chunkId: 0, peerId: 'c', redundant: false })]);
  });

  it('endgame: once every missing piece is in flight, a faster idle partner gets a second request (at most endgameCopies)', () => {
    const requests = new RequestQueue();
    // piece 0 asked of slow partner a long ago, expected late
    requests.add({ chunkId: 0, peerId: 'a', sentAt: 0, timeoutAt: 20_000, bytes: PIECE, expectedAt: 9000, redundant: false });
    const picker = new DownloadPicker({ endgameCopies: 2 });
    const picks = picker.pick(ctx({ count: 1, maps: { a: [0], b: [0], c: [0] }, requests }));
    expect(picker.endgame).toBe(true);
    expect(picks).toHaveLength(1);
    expect(picks[0]).toMatchObject({ chunkId: 0, redundant: true });
    expect(picks[0]!.peerId).not.toBe('a');
    requests.add({ chunkId: 0, peerId: picks[0]!.peerId, sentAt: 1000, timeoutAt: 20_000, bytes: PIECE, expectedAt: picks[0]!.expectedAt, redundant: true });
    expect(picker.pick(ctx({ count: 1, maps: { a: [0], b: [0], c: [0] }, requests }))).toEqual([]);
  });

  it('endgame: no duplicate when the request out is expected sooner than any other partner could deliver', () => {
    const requests = new RequestQueue();
    requests.add({ chunkId: 0, peerId: 'a', sentAt: 990, timeoutAt: 20_000, bytes: PIECE, expectedAt: 1001, redundant: false });
    const picker = new DownloadPicker({ endgameCopies: 3 });
    expect(picker.pick(ctx({ count: 1, maps: { a: [0], b: [0] }, requests }))).toEqual([]);
    expect(picker.endgame).toBe(true);
  });

  it('endgameCopies 1 turns duplicates off', () => {
    const requests = new RequestQueue();
    requests.add({ chunkId: 0, peerId: 'a', sentAt: 0, timeoutAt: 20_000, bytes: PIECE, expectedAt: 9000, redundant: false });
    expect(new DownloadPicker({ endgameCopies: 1 }).pick(ctx({ count: 1, maps: { a: [0], b: [0] }, requests }))).toEqual([]);
  });
});
