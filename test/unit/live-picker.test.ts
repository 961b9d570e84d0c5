import { describe, expect, it } from 'vitest';
import { BufferMap, RemoteBufferMap } from '../../src/engine/buffer-map.js';
import { LivePicker } from '../../src/engine/live-picker.js';
import { PeerEstimates } from '../../src/engine/peer-estimates.js';
import type { PickContext } from '../../src/engine/picker.js';
import { RequestQueue } from '../../src/engine/request-queue.js';
import { SeededRandom } from '../../src/sim/seeded-random.js';

const CHUNK = 10_000;
const URGENT_MS = 1000;
const BUCKET_MS = 2000;

/** A pick context: `holders` maps a partner to the ids it advertises; deadline(id) = 1000 × id. */
function context(holders: Record<string, number[]>, opts: { now?: number; from?: number; to?: number; held?: number[]; maxInFlight?: number; window?: number } = {}) {
  const maps = new RemoteBufferMap();
  for (const [peer, ids] of Object.entries(holders)) {
    const base = Math.min(...ids);
    maps.update(peer, BufferMap.derive(base, Math.max(...ids) - base + 1, (x) => ids.includes(x)), 0);
  }
  const requests = new RequestQueue();
  const estimates = new PeerEstimates({ initialRttMs: 50, initialThroughputBps: 1_000_000, weightPct: 50, maxWindow: opts.maxInFlight ?? 4, initialWindow: opts.window ?? 10 });
  const held = new Set(opts.held ?? []);
  const ctx: PickContext = {
    now: opts.now ?? 0,
    fromId: opts.from ?? 0,
    toId: opts.to ?? 100,
    has: (id) => held.has(id),
    partners: Object.keys(holders),
    maps,
    requests,
    estimates,
    chunkBytes: CHUNK,
    maxInFlightPerPartner: opts.maxInFlight ?? 4,
    random: new SeededRandom(3),
    deadline: (id) => 1000 * id,
  };
  return { ctx, requests, estimates };
}

const picker = new LivePicker({ urgentMs: URGENT_MS, deadlineBucketMs: BUCKET_MS });

describe('live picker', () => {
  it('orders by deadline bucket first, then rarity (fewest suppliers) within a bucket', () => {
    // Buckets of 2 s: ids 2,3 | 4,5 | 6,7. Id 3 has one supplier, id 2 three; 5 one, 4 two.
    const { ctx } = context(
      { a: [2, 3, 4, 5, 6, 7], b: [2, 4, 6], c: [2, 7] },
      { now: 0, from: 2, to: 8, maxInFlight: 10 },
    );
    ctx.now = -5000; // nothing urgent
    expect(picker.pick(ctx).map((r) => r.chunkId)).toEqual([3, 2, 5, 4, 6, 7]);
  });

  it('default (mixed strategy): urgent ids by deadline, then the rest rarest first', () => {
    const mixed = new LivePicker({ urgentMs: URGENT_MS, deadlineBucketMs: 0 });
    // now 800: id 1 is urgent (deadline 1000). Suppliers: 2→3, 3→1, 4→2, 5→1, 6→3.
    const { ctx } = context({ a: [1, 2, 3, 4, 5, 6], b: [1, 2, 4, 6], c: [2, 6] }, { now: 800, from: 0, to: 10, maxInFlight: 10 });
    expect(mixed.pick(ctx).map((r) => r.chunkId)).toEqual([1, 3, 5, 4, 2, 6]);
  });

  it('puts urgent ids first, earliest deadline first, whatever their rarity', () => {
    const { ctx } = context({ a: [1, 2, 3, 20, 21], b: [1, 2, 20] }, { now: 800, from: 0, to: 30, maxInFlight: 10 });
    // Deadlines 1000/2000/3000 for 1/2/3; urgent: deadline − now < 1000 → only id 1 (200 ms away).
    const ids = picker.pick(ctx).map((r) => r.chunkId);
    expect(ids[0]).toBe(1);
    expect(ids).toEqual([1, 3, 2, 21, 20]);
  });

  it('asks the supplier with the most spare capacity: soonest expected arrival', () => {
    const { ctx, estimates } = context({ slow: [5], fast: [5], busy: [5] }, { now: -10_000, from: 0, to: 10 });
    // Teach the estimates: 'fast' delivers 10 kB in 10 ms, 'slow' in 500 ms; 'busy' refused.
    estimates.onResponse('fast', 0, 10, CHUNK);
    estimates.onResponse('slow', 0, 500, CHUNK);
    estimates.onReject('busy', -10_050, -10_000, true, 5000);
    const [r] = picker.pick(ctx);
    expect(r?.peerId).toBe('fast');
    expect(r?.redundant).toBe(false);
  });

  it('spreads load: bytes already asked of a partner count against it', () => {
    const { ctx, requests } = context({ a: [1, 2, 3], b: [1, 2, 3] }, { now: -10_000, from: 0, to: 10 });
    requests.add({ chunkId: 9, peerId: 'a', sentAt: -10_000, timeoutAt: 0, bytes: 1.5 * CHUNK, expectedAt: 0, redundant: false });
    const picks = picker.pick(ctx);
    expect(picks.map((r) => r.peerId)).toEqual(['b', 'b', 'a']);
  });

  it('respects the per-partner request window and never asks an excluded partner for that id', () => {
    const { ctx, requests, estimates } = context({ a: [1, 2, 3, 4, 5, 6] }, { now: -10_000, from: 0, to: 10, maxInFlight: 3 });
    requests.exclude(1, 'a');
    const picks = picker.pick(ctx);
    // At most maxInFlightPerPartner outstanding; id 1 is excluded for 'a'.
    expect(picks.map((r) => r.chunkId)).toEqual([2, 3, 4]);
    expect(picks.every((r) => r.peerId === 'a')).toBe(true);
    // A 'busy' refusal halves the window (AIMD) and keeps the partner out for the back-off.
    estimates.onReject('a', -10_100, -10_000, true, 50);
    expect(estimates.windowOf('a')).toBe(1);
    expect(picker.pick(ctx)).toEqual([]);
    ctx.now = -9_900;
    expect(picker.pick(ctx).map((r) => r.chunkId)).toEqual([2]);
  });

  it('skips held ids and ids nobody advertises; does not re-ask ids in flight unless urgent', () => {
    const { ctx, requests } = context({ a: [1, 2, 3, 4], b: [1, 2, 3, 4] }, { now: -10_000, from: 0, to: 10, held: [2], maxInFlight: 10 });
    requests.add({ chunkId: 3, peerId: 'a', sentAt: -10_000, timeoutAt: 0, bytes: CHUNK, expectedAt: -9000, redundant: false });
    expect(picker.pick(ctx).map((r) => r.chunkId)).toEqual([1, 4]);
  });

  it('urgent and late: a second, redundant request to another supplier', () => {
    const { ctx, requests } = context({ a: [3], b: [3] }, { now: 2500, from: 0, to: 10 });
    // Asked of 'a' at 1000, expected at 2000: now 2500 it is overdue, and its deadline (3000) is 500 ms away.
    requests.add({ chunkId: 3, peerId: 'a', sentAt: 1000, timeoutAt: 9000, bytes: CHUNK, expectedAt: 2000, redundant: false });
    const picks = picker.pick(ctx);
    expect(picks).toEqual([expect.objectContaining({ chunkId: 3, peerId: 'b', redundant: true })]);
    // Not urgent yet (deadline 3 s away): no second request.
    ctx.now = 0;
    expect(picker.pick(ctx)).toEqual([]);
  });
});
