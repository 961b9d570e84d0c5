import { describe, expect, it } from 'vitest';
import { BufferMap, RemoteBufferMap } from '../../src/engine/buffer-map.js';
import { PushChildren } from '../../src/engine/push-children.js';
import { NOT_FED, PushParents, type PushView } from '../../src/engine/push-parents.js';
import { UploadQueue, type ServeRequest } from '../../src/engine/upload-queue.js';
import { SeededRandom } from '../../src/sim/seeded-random.js';

const LEASE = 6000;

/** Partners holding chunks [0, newest] each. */
function view(newest: Record<string, number>, delays: Record<string, number> = {}, ownNewest?: number): PushView {
  const maps = new RemoteBufferMap();
  for (const [peerId, n] of Object.entries(newest)) maps.update(peerId, BufferMap.derive(0, n + 1, () => true), 0);
  return { partners: Object.keys(newest), maps, delayMs: (p) => delays[p] ?? 100, uploadBps: 0, ownNewest };
}

function parents(count = 4): { p: PushParents; sent: Array<[string, number]>; tick: (now: number, v: PushView) => void } {
  const p = new PushParents({ count, leaseMs: LEASE, retryMs: 10_000, lagChunks: 4, missLimit: 3, random: new SeededRandom(7) });
  const sent: Array<[string, number]> = [];
  return { p, sent, tick: (now, v) => p.tick(now, v, (peer, mask) => sent.push([peer, mask])) };
}

describe('push parents (the subscribing side)', () => {
  it('spreads its sub-streams over its partners, then prefers the partner nearest the source', () => {
    const { p, sent, tick } = parents();
    tick(0, view({ a: 10, b: 10, c: 10, d: 10 }));
    // Four sub-streams, four partners of unknown hops: one each.
    expect(sent.map(([peer]) => peer).sort()).toEqual(['a', 'b', 'c', 'd']);
    for (const [, mask] of sent) expect(mask.toString(2).split('1').length - 1).toBe(1);
    // a is the source (hops 0 everywhere) and takes its one; b, c, d are not fed and refuse.
    const hops = (h: number) => new Uint8Array([h, h, h, h]);
    for (const [peer, mask] of sent) p.onAck(peer, peer === 'a' ? mask : 0, peer === 'a' ? hops(0) : hops(NOT_FED), 10);
    expect(p.fed).toBe(1);
    sent.length = 0;
    tick(100, view({ a: 10, b: 10, c: 10, d: 10 }));
    // The three refused sub-streams go to the source now (known hops 0 beats not fed).
    expect(sent).toHaveLength(1);
    expect(sent[0]?.[0]).toBe('a');
    expect(sent[0]?.[1]).toBe(0b1111);
    p.onAck('a', 0b1111, hops(0), 120);
    expect(p.fed).toBe(4);
    expect(p.ownHops(2)).toBe(1);
  });

  it('chooses only parents the view allows for a sub-stream, and leaves one that is no longer allowed', () => {
    const { p, tick } = parents(2);
    let allowA: (s: number) => boolean = (s) => s === 0;
    const v = () => ({ ...view({ a: 10, b: 10 }), mayFeed: (peer: string, s: number) => (peer === 'a' ? allowA(s) : true) });
    tick(0, v());
    p.onAck('a', 1, new Uint8Array([0, 0]), 5);
    p.onAck('b', 2, new Uint8Array([1, 1]), 5);
    expect([p.parentOf(0), p.parentOf(1)]).toEqual(['a', 'b']);
    allowA = () => false; // e.g. a main node's uplink slot changed
    tick(100, v());
    expect(p.parentOf(0)).not.toBe('a');
  });

  it('takes pushes only from the accepted parent of that sub-stream, and from a parent it just left for a lease', () => {
    const { p, tick } = parents(2);
    tick(0, view({ a: 10, b: 10 }));
    const parentOf0 = p['feeds'][0]?.parent as string;
    const other = parentOf0 === 'a' ? 'b' : 'a';
    expect(p.expectsPush(parentOf0, 4, 0)).toBe(false); // asked, not yet accepted
    p.onAck(parentOf0, 1, new Uint8Array([0, 0]), 5);
    expect(p.expectsPush(parentOf0, 4, 10)).toBe(true); // 4 mod 2 = sub-stream 0
    expect(p.expectsPush(other, 4, 10)).toBe(false);
    p.onAck(parentOf0, 0, new Uint8Array([NOT_FED, NOT_FED]), 10); // no longer fed: left
    expect(p.parentOf(0)).toBeUndefined();
    expect(p.expectsPush(parentOf0, 4, 100)).toBe(true); // its pushes in flight still count
    expect(p.expectsPush(parentOf0, 4, 10 + LEASE)).toBe(false);
    // A partner that refused outright never had anything in flight.
    p.onAck(other, 0, new Uint8Array([NOT_FED, NOT_FED]), 20);
    expect(p.expectsPush(other, 5, 30)).toBe(false);
  });

  it('leaves a parent that lets three chunks in a row come by pull first, and one that falls behind', () => {
    const { p, sent, tick } = parents(1);
    tick(0, view({ a: 10, b: 10 }));
    const first = sent[0]?.[0] as string;
    p.onAck(first, 1, new Uint8Array([2]), 10);
    expect(p.parentOf(0)).toBe(first);
    // Within the first lease misses do not count (the tree is forming).
    for (let id = 11; id < 14; id++) p.onStored(id, undefined, 100);
    expect(p.parentOf(0)).toBe(first);
    p.onStored(14, first, LEASE + 100);
    for (let id = 15; id < 17; id++) p.onStored(id, undefined, LEASE + 200);
    expect(p.parentOf(0)).toBe(first);
    p.onStored(17, undefined, LEASE + 300);
    expect(p.parentOf(0)).toBeUndefined();
    expect(p.switches).toBe(1);
    // Re-chosen: the other partner (the one left is refused for a while).
    sent.length = 0;
    const other = first === 'a' ? 'b' : 'a';
    tick(LEASE + 400, view({ a: 20, b: 20 }));
    expect(sent).toContainEqual([other, 1]);
    expect(sent).toContainEqual([first, 0]); // the old parent hears it is no longer wanted
    p.onAck(other, 1, new Uint8Array([1]), LEASE + 410);
    // The new parent falls 5 chunks behind what we hold: left.
    tick(LEASE + 500, view({ a: 30, b: 30, [other]: 25 }, {}, 30));
    expect(p.parentOf(0)).toBeUndefined();
  });

  it('renews its subscriptions every third of the lease, and counts as fed for a lease between two parents', () => {
    const { p, sent, tick } = parents(1);
    tick(0, view({ a: 10 }));
    p.onAck('a', 1, new Uint8Array([3]), 5);
    expect(p.ownHops(0)).toBe(4);
    sent.length = 0;
    tick(LEASE / 3 - 10, view({ a: 10 }));
    expect(sent).toHaveLength(0);
    tick(LEASE / 3 + 10, view({ a: 10 }));
    expect(sent).toEqual([['a', 1]]);
    p.onPartnerRemoved('a', 3000);
    expect(p.parentOf(0)).toBeUndefined();
    tick(3001, view({}));
    expect(p.ownHops(0)).toBe(4); // children keep their place while we find a new parent
    tick(5 + LEASE + 1, view({}));
    expect(p.ownHops(0)).toBe(NOT_FED);
  });
});

describe('push children (the pushing side)', () => {
  it('keeps what it accepted until the lease lapses, admits new sub-streams by the rule given', () => {
    const c = new PushChildren({ count: 4, leaseMs: LEASE });
    const mask = c.onSub('x', 0b0111, 0, () => true, (s) => s !== 2);
    expect(mask).toBe(0b0011);
    expect(c.childrenOf(0)).toEqual(['x']);
    expect(c.childrenOf(2)).toEqual([]);
    expect(c.pairs).toBe(2);
    // Renewal: kept sub-streams consult `keep`; sub-stream 3 is new.
    expect(c.onSub('x', 0b1011, 1000, (s) => s === 0, () => true)).toBe(0b1001);
    c.expire(1000 + LEASE - 1);
    expect(c.pairs).toBe(2);
    c.expire(1000 + LEASE);
    expect(c.pairs).toBe(0);
    expect(c.onSub('y', 0b1, 0, () => true, () => true)).toBe(1);
    expect(c.onSub('y', 0, 10, () => true, () => true)).toBe(0); // mask 0 ends it
    expect(c.childrenOf(0)).toEqual([]);
  });
});

describe('upload queue: pushes', () => {
  const CHUNK = 62_500;
  it('need no slot and hold none: a partner with every slot taken still gets its pushes, and its requests after them', () => {
    const q = new UploadQueue<string>({ uploadBps: 1_000_000, maxServeQueueMs: 5000, slotsPerPartner: 1, unpacedSlotMs: 1000, newestSharePct: 0 });
    const req = (chunkId: number, push = false): ServeRequest<string> => ({ peer: 'p', peerId: 'p', chunkId, bytes: CHUNK, push });
    expect(q.offer(req(1), 0, () => {})).toBe('queued');
    expect(q.offer(req(2), 0, () => {})).toBe('busy-partner');
    expect(q.offer(req(3, true), 0, () => {})).toBe('queued');
    expect(q.offer(req(4, true), 0, () => {})).toBe('queued');
    const sent: number[] = [];
    for (let t = 0; t <= 2000; t += 100) q.drain(t, (r) => (sent.push(r.chunkId), r.bytes), () => {});
    expect(sent).toEqual([1, 3, 4]);
  });
});
