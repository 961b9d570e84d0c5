// Shared uplink, sans-IO: the coordination datagrams, the coordinator's plan and how it rebalances
// when a main node joins, leaves, goes silent or loses its uplink; each main node's slot; the
// picker restricted to the slot; the election of the local tracker; relays and uplink health.
import { describe, expect, it } from 'vitest';
import { BufferMap, RemoteBufferMap } from '../../src/engine/buffer-map.js';
import type { ChunkRequest, PickContext, Picker } from '../../src/engine/picker.js';
import { SegmentElection } from '../../src/segment/election.js';
import { RelaySet } from '../../src/segment/relay-set.js';
import { decodeShareDatagram, encodeShareDatagram, SHARE_MAX_DATAGRAM_BYTES, type SharePlan } from '../../src/segment/share-datagram.js';
import { inSlot, ShareCoordinator, ShareView } from '../../src/segment/share-plan.js';
import { SharedUplinkPicker } from '../../src/segment/shared-uplink-picker.js';
import { UplinkHealth } from '../../src/segment/uplink-health.js';

const CH = 'live-abc';

describe('share datagrams', () => {
  it('round-trip reports and plans', () => {
    const report = { kind: 'report' as const, peerId: 'main-a', uplinkUp: true, contents: [CH, 'live-def'] };
    const plan: SharePlan = { kind: 'plan', leaderId: 'main-a', epoch: 7, wanted: [CH], shares: [{ contentId: CH, mains: ['main-a', 'main-b'] }] };
    expect(decodeShareDatagram(encodeShareDatagram(report))).toEqual({ ok: true, datagram: report });
    expect(decodeShareDatagram(encodeShareDatagram(plan))).toEqual({ ok: true, datagram: plan });
  });

  it('refuses malformed datagrams with a reason and will not encode oversized ones', () => {
    const good = encodeShareDatagram({ kind: 'report', peerId: 'm', uplinkUp: false, contents: [] });
    expect(decodeShareDatagram(Buffer.from('SDLA\x01\x01'))).toMatchObject({ ok: false });
    expect(decodeShareDatagram(good.subarray(0, good.length - 1))).toMatchObject({ ok: false, reason: /truncated/ });
    expect(decodeShareDatagram(Buffer.concat([good, Buffer.from([0])]))).toEqual({ ok: false, reason: '1 trailing bytes' });
    const badKind = Buffer.from(good);
    badKind[5] = 9;
    expect(decodeShareDatagram(badKind)).toEqual({ ok: false, reason: 'unknown kind 9' });
    expect(() => encodeShareDatagram({ kind: 'report', peerId: '', uplinkUp: true, contents: [] })).toThrow(/peerId/);
    const long = 'x'.repeat(200);
    expect(() => encodeShareDatagram({ kind: 'plan', leaderId: 'l', epoch: 1, wanted: [], shares: Array.from({ length: 8 }, (_, i) => ({ contentId: `${long}${i}`, mains: ['a'] })) })).toThrow(new RegExp(String(SHARE_MAX_DATAGRAM_BYTES)));
  });
});

describe('the coordinator plan and rebalancing', () => {
  const report = (peerId: string, up = true, contents = [CH]) => ({ kind: 'report' as const, peerId, uplinkUp: up, contents });

  it('splits a content over the main nodes with a working uplink, sorted by id, and rebalances', () => {
    const c = new ShareCoordinator({ leaderId: 'b', mainTimeoutMs: 1500 });
    c.report(report('b'), 0);
    let p = c.plan(0, [CH]);
    expect(p.shares).toEqual([{ contentId: CH, mains: ['b'] }]);
    const e1 = p.epoch;
    c.report(report('a'), 100); // one joins
    p = c.plan(100, [CH]);
    expect(p.shares[0]?.mains).toEqual(['a', 'b']);
    expect(p.epoch).toBe(e1 + 1);
    expect(c.plan(200, [CH]).epoch).toBe(e1 + 1); // unchanged plan, same epoch
    c.report(report('c'), 300);
    c.report(report('a', false), 300); // a loses its uplink
    expect(c.plan(300, [CH]).shares[0]?.mains).toEqual(['b', 'c']);
    c.report(report('a'), 400); // back
    c.forget('c'); // c said goodbye
    expect(c.plan(400, [CH]).shares[0]?.mains).toEqual(['a', 'b']);
    c.report(report('b'), 2000); // a goes silent: gone after mainTimeoutMs
    expect(c.plan(2000, [CH]).shares[0]?.mains).toEqual(['b']);
  });

  it("gives each main node its slot; no plan or a stale one means the whole uplink", () => {
    const plan: SharePlan = { kind: 'plan', leaderId: 'a', epoch: 3, wanted: [CH], shares: [{ contentId: CH, mains: ['a', 'b', 'c'] }] };
    const v = new ShareView('b', 1500);
    expect(v.slot(CH, 0, true)).toEqual({ kind: 'all' });
    v.accept(plan, 0);
    expect(v.slot(CH, 100, true)).toEqual({ kind: 'share', index: 1, k: 3 });
    expect(v.slot('other', 100, true)).toEqual({ kind: 'all' });
    expect(v.slot(CH, 100, false)).toEqual({ kind: 'none' });
    expect(v.siblings(100).sort()).toEqual(['a', 'c']);
    expect(v.accept({ ...plan, epoch: 2 }, 200)).toBe(false); // older epoch of the same leader
    expect(v.slot(CH, 1600, true)).toEqual({ kind: 'all' }); // stale
    const w = new ShareView('z', 1500);
    w.accept(plan, 0);
    expect(w.slot(CH, 0, true)).toEqual({ kind: 'none' }); // not in the plan yet: the others cover it
    w.drop();
    expect(w.slot(CH, 0, true)).toEqual({ kind: 'all' });
    const slots = [0, 1, 2].map((index) => ({ kind: 'share' as const, index, k: 3 }));
    for (let id = 0; id < 30; id++) expect(slots.filter((s) => inSlot(id, s)).length).toBe(1);
  });
});

/** A picker that asks the first partner whose map holds each id of the window. */
const firstHolder: Picker = {
  pick(ctx: PickContext): ChunkRequest[] {
    const out: ChunkRequest[] = [];
    for (let id = ctx.fromId; id < ctx.toId; id++) {
      const p = ctx.partners.find((x) => ctx.maps.get(x)?.has(id));
      if (p) out.push({ chunkId: id, peerId: p, expectedAt: ctx.now, redundant: false });
    }
    return out;
  },
};

function ctxWith(maps: Record<string, number[]>, now = 0, deadline = (id: number) => 10_000 + id * 1000, inFlight: Record<string, number> = {}): PickContext {
  const remote = new RemoteBufferMap();
  for (const [p, ids] of Object.entries(maps)) remote.update(p, BufferMap.derive(0, 10, (id) => ids.includes(id)), now);
  return { now, fromId: 0, toId: 10, has: () => false, partners: Object.keys(maps), maps: remote, requests: { inFlightCount: (p: string) => inFlight[p] ?? 0 } as never, estimates: undefined as never, chunkBytes: 1000, maxInFlightPerPartner: 4, random: { next: () => 0.5 }, deadline };
}

describe('the shared-uplink picker', () => {
  const all = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const side = (p: string) => (p.startsWith('seg') ? 'segment' as const : 'uplink' as const);

  it('fetches only its slot over the uplink and the rest from the segment', () => {
    const picker = new SharedUplinkPicker({ inner: firstHolder, sideOf: side, slot: () => ({ kind: 'share', index: 0, k: 2 }), fallbackMs: 1200, maxUplinkInFlight: 100 });
    const reqs = picker.pick(ctxWith({ up1: all, seg1: [1, 3, 5] }));
    expect(reqs.map((r) => `${r.chunkId}@${r.peerId}`)).toEqual(['0@up1', '1@seg1', '2@up1', '3@seg1', '4@up1', '5@seg1', '6@up1', '8@up1']);
  });

  it('takes a chunk outside its slot over the uplink only when it is due soon and nobody on the segment has it', () => {
    let fallbacks = 0;
    const picker = new SharedUplinkPicker({ inner: firstHolder, sideOf: side, slot: () => ({ kind: 'share', index: 0, k: 2 }), fallbackMs: 1200, maxUplinkInFlight: 100, onFallback: (n) => (fallbacks += n) });
    const soon = (id: number) => (id === 1 || id === 3 ? 1000 : 60_000);
    const reqs = picker.pick(ctxWith({ up1: all, seg1: [3] }, 0, soon));
    expect(reqs.filter((r) => r.chunkId === 1 || r.chunkId === 3).map((r) => `${r.chunkId}@${r.peerId}`)).toEqual(['1@up1', '3@seg1']);
    expect(fallbacks).toBe(1);
    const none = new SharedUplinkPicker({ inner: firstHolder, sideOf: side, slot: () => ({ kind: 'none' }), fallbackMs: 1200, maxUplinkInFlight: 100 });
    expect(none.pick(ctxWith({ up1: all })).map((r) => r.chunkId)).toEqual([]);
    const alone = new SharedUplinkPicker({ inner: firstHolder, sideOf: side, slot: () => ({ kind: 'all' }), fallbackMs: 1200, maxUplinkInFlight: 100 });
    expect(alone.pick(ctxWith({ up1: all })).length).toBe(10);
  });

  it('lets an uplink partner push only the sub-streams inside its slot; the segment may push any', () => {
    const share = new SharedUplinkPicker({ inner: firstHolder, sideOf: side, slot: () => ({ kind: 'share', index: 1, k: 2 }), fallbackMs: 1200, maxUplinkInFlight: 100 });
    // 4 sub-streams, slot 1 of 2: sub-streams 1 and 3 hold only odd ids.
    expect([0, 1, 2, 3].map((s) => share.pushFrom('up1', s, 4))).toEqual([false, true, false, true]);
    expect([0, 1, 2, 3].map((s) => share.pushFrom('seg1', s, 4))).toEqual([true, true, true, true]);
    // 3 sub-streams do not split into 2 slots: nothing over the uplink by push (pulling covers the slot).
    expect([0, 1, 2].map((s) => share.pushFrom('up1', s, 3))).toEqual([false, false, false]);
    const none = new SharedUplinkPicker({ inner: firstHolder, sideOf: side, slot: () => ({ kind: 'none' }), fallbackMs: 1200, maxUplinkInFlight: 100 });
    const alone = new SharedUplinkPicker({ inner: firstHolder, sideOf: side, slot: () => ({ kind: 'all' }), fallbackMs: 1200, maxUplinkInFlight: 100 });
    expect([none.pushFrom('up1', 0, 4), alone.pushFrom('up1', 0, 4)]).toEqual([false, true]);
  });

  it('a download (no deadlines): pieces outside the slot and endgame copies never go over the uplink', () => {
    const { deadline: _none, ...download } = ctxWith({ up1: all, seg1: [2] });
    const picker = new SharedUplinkPicker({ inner: firstHolder, sideOf: side, slot: () => ({ kind: 'share', index: 1, k: 2 }), fallbackMs: 1200, maxUplinkInFlight: 100 });
    expect(picker.pick(download).map((r) => `${r.chunkId}@${r.peerId}`)).toEqual(['1@up1', '2@seg1', '3@up1', '5@up1', '7@up1', '9@up1']);
    const endgame: Picker = { pick: (ctx) => firstHolder.pick(ctx).map((r) => ({ ...r, redundant: true })) };
    const copies = new SharedUplinkPicker({ inner: endgame, sideOf: side, slot: () => ({ kind: 'all' }), fallbackMs: 1200, maxUplinkInFlight: 100 });
    const { deadline: _none2, ...segFirst } = ctxWith({ seg1: [2], up1: all });
    expect(copies.pick(segFirst).map((r) => `${r.chunkId}@${r.peerId}`)).toEqual(['2@seg1']);
  });

  it('keeps at most maxUplinkInFlight requests outstanding over the uplink, whatever the slot', () => {
    const capped = new SharedUplinkPicker({ inner: firstHolder, sideOf: side, slot: () => ({ kind: 'all' }), fallbackMs: 1200, maxUplinkInFlight: 3 });
    expect(capped.pick(ctxWith({ up1: all, up2: all })).map((r) => r.chunkId)).toEqual([0, 1, 2]);
    expect(capped.pick(ctxWith({ up1: all, up2: all }, 0, undefined, { up1: 1, up2: 1 })).map((r) => r.chunkId)).toEqual([0]);
    // full: only the segment is asked
    expect(capped.pick(ctxWith({ up1: all, seg1: [4, 5] }, 0, undefined, { up1: 3 })).map((r) => `${r.chunkId}@${r.peerId}`)).toEqual(['4@seg1', '5@seg1']);
  });
});

describe('local tracker election', () => {
  const opts = { waitMs: 1500, leaderTimeoutMs: 3000, rankStepMs: 1000 };
  const c = (port: number) => ({ host: '10.0.0.1', port });

  it('becomes the tracker when nobody answers, follows one that does, and the lowest id wins', () => {
    const e = new SegmentElection({ selfId: 'm2', ...opts }, 0);
    expect(e.tick(1000, [])).toBeUndefined();
    expect(e.tick(1500, [])).toEqual({ kind: 'became-leader' });
    expect(e.heard('m3', c(3), 1600)).toBeUndefined(); // higher id: it steps down
    expect(e.heard('m1', c(1), 1700)).toEqual({ kind: 'following', leaderId: 'm1', contact: c(1) });
    const f = new SegmentElection({ selfId: 'm5', ...opts }, 0);
    expect(f.heard('m3', c(3), 100)?.kind).toBe('following');
    expect(f.heard('m4', c(4), 200)).toBeUndefined();
    expect(f.heard('m2', c(2), 300)).toEqual({ kind: 'following', leaderId: 'm2', contact: c(2) });
  });

  it('re-elects when the tracker is lost: the lowest remaining id at once, the others later', () => {
    const a = new SegmentElection({ selfId: 'm2', ...opts }, 0);
    const b = new SegmentElection({ selfId: 'm3', ...opts }, 0);
    a.heard('m1', c(1), 0);
    b.heard('m1', c(1), 0);
    expect(a.leaderLost('m1', 1000, ['m1', 'm3'])).toEqual({ kind: 'lost-leader', leaderId: 'm1' });
    expect(b.leaderLost('m1', 1000, ['m1', 'm2'])).toEqual({ kind: 'lost-leader', leaderId: 'm1' });
    expect(a.tick(1000, [])).toEqual({ kind: 'became-leader' });
    expect(b.tick(1500, [])).toBeUndefined();
    expect(b.heard('m2', c(2), 1600)?.kind).toBe('following');
    const silent = new SegmentElection({ selfId: 'm9', ...opts }, 0);
    silent.heard('m1', c(1), 0);
    expect(silent.tick(3001, [])).toEqual({ kind: 'lost-leader', leaderId: 'm1' });
  });
});

describe('relays and uplink health', () => {
  it('relays what is wanted and drops it after the linger time', () => {
    const r = new RelaySet(10_000);
    expect(r.update([CH], 0)).toEqual({ start: [CH], stop: [] });
    expect(r.update([], 1000)).toEqual({ start: [], stop: [] });
    expect(r.update([CH], 5000)).toEqual({ start: [], stop: [] }); // wanted again: linger reset
    expect(r.update([], 6000)).toEqual({ start: [], stop: [] });
    expect(r.update([], 16_000)).toEqual({ start: [], stop: [CH] });
    expect(r.contents).toEqual([]);
  });

  it('calls the uplink down on a dead interface or unanswered requests, and tries again later', () => {
    const h = new UplinkHealth(4000, 0);
    expect(h.update({ now: 1000, interfaceDown: false, lastRequestAt: 900, lastChunkAt: 950 })).toBe(true);
    expect(h.update({ now: 2000, interfaceDown: true, lastRequestAt: 900, lastChunkAt: 950 })).toBe(false);
    expect(h.why).toBe('interface down');
    expect(h.update({ now: 3000, interfaceDown: false, lastRequestAt: 2900, lastChunkAt: 2950 })).toBe(true);
    expect(h.update({ now: 7500, interfaceDown: false, lastRequestAt: 7400, lastChunkAt: 2950 })).toBe(false); // stalled
    expect(h.why).toMatch(/no chunk over the uplink/);
    expect(h.update({ now: 12_000, interfaceDown: false, lastRequestAt: 7400, lastChunkAt: 2950 })).toBe(false);
    expect(h.update({ now: 15_600, interfaceDown: false, lastRequestAt: 7400, lastChunkAt: 2950 })).toBe(true); // retry
    expect(h.update({ now: 16_000, interfaceDown: false, lastRequestAt: 15_900, lastChunkAt: 15_950 })).toBe(true);
  });
});
