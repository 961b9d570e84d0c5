import { describe, expect, it } from 'vitest';
import { addr } from '../helpers/engine-fakes.js';
import { C, goodChunk, joined, liveNode } from '../helpers/live-fakes.js';

const PUSH = { chunkMs: 1000, prebufferMs: 3000, substreams: 2, pushGraceMs: 1000 };

/** A viewer with partners a and b advertising 0..20: it subscribes to one sub-stream from each. */
function subscribed() {
  const n = joined(PUSH);
  return { n, subs: n.transport.of('SubstreamSub') };
}

describe('live: pushed sub-streams (docs/live-push.md)', () => {
  it('a viewer subscribes to one parent per sub-stream; an accepted parent pushes without requests, anyone else is unsolicited', () => {
    const { n, subs } = subscribed();
    expect(subs.map((s) => s.to.peerId).sort()).toEqual(['a', 'b']);
    expect(subs.map((s) => s.msg.mask).sort()).toEqual([1, 2]);
    const fromA = subs.find((s) => s.to.peerId === 'a')?.msg.mask as number;
    const sA = fromA === 1 ? 0 : 1; // a's sub-stream
    n.engine.receive(addr('a'), { type: 'SubstreamAck', peerId: 'a', contentId: C, count: 2, mask: fromA, hops: new Uint8Array([0, 0]) });
    // A new chunk of a's sub-stream, before any map shows it: stored, counted as pushed.
    const next = sA === 21 % 2 ? 21 : 22;
    n.respond('a', goodChunk(next));
    // One of the other sub-stream from a (b's job): not asked for, not taken.
    n.respond('a', goodChunk(next + 1));
    const s = n.live.stats(C);
    expect(s?.chunksPushedIn).toBe(1);
    expect(s?.unsolicited).toBe(1);
    expect(s?.pushFed).toBe(1);
    expect(s?.newestId).toBe(next);
  });

  it('does not pull a chunk its parent should push until pushGraceMs after it was first advertised', () => {
    const { n, subs } = subscribed();
    for (const s of subs) n.engine.receive(addr(s.to.peerId as string), { type: 'SubstreamAck', peerId: s.to.peerId as string, contentId: C, count: 2, mask: s.msg.mask, hops: new Uint8Array([0, 0]) });
    // Deliver the join window so only new chunks are missing.
    for (const id of [17, 18, 19, 20]) n.respond(n.requested('a').includes(id) ? 'a' : 'b', goodChunk(id));
    n.transport.clear();
    const ids = Array.from({ length: 22 }, (_, i) => i);
    n.advertise('a', ids);
    n.advertise('b', ids);
    n.tick();
    expect(n.requested('a').concat(n.requested('b'))).not.toContain(21);
    for (let i = 0; i < 10; i++) n.tick(100);
    expect(n.requested('a').concat(n.requested('b'))).toContain(21);
  });

  it('a viewer not fed itself refuses subscriptions; a source takes them and pushes each new chunk at once', () => {
    const viewer = liveNode({ config: PUSH });
    viewer.partner('x');
    viewer.tick();
    viewer.transport.clear();
    viewer.engine.receive(addr('x'), { type: 'SubstreamSub', peerId: 'x', contentId: C, count: 2, mask: 3, uploadBps: 0 });
    const ack = viewer.transport.of('SubstreamAck', 'x')[0]?.msg;
    expect(ack?.mask).toBe(0);
    expect([...(ack?.hops ?? [])]).toEqual([255, 255]);

    const src = liveNode({ viewer: false, config: { ...PUSH, sourcePushChildren: 1 } });
    src.live.startSource(C);
    for (const p of ['p1', 'p2']) src.partner(p);
    src.tick();
    src.transport.clear();
    src.engine.receive(addr('p1'), { type: 'SubstreamSub', peerId: 'p1', contentId: C, count: 2, mask: 1, uploadBps: 0 });
    // A wrong sub-stream count is refused whole.
    src.engine.receive(addr('p2'), { type: 'SubstreamSub', peerId: 'p2', contentId: C, count: 4, mask: 1, uploadBps: 0 });
    expect(src.transport.of('SubstreamAck', 'p1')[0]?.msg.mask).toBe(1);
    expect([...(src.transport.of('SubstreamAck', 'p1')[0]?.msg.hops ?? [])]).toEqual([0, 0]);
    expect(src.transport.of('SubstreamAck', 'p2')[0]?.msg.mask).toBe(0);
    // A peer that is not a partner gets nothing pushed.
    src.engine.receive(addr('stranger'), { type: 'SubstreamSub', peerId: 'stranger', contentId: C, count: 2, mask: 2, uploadBps: 0 });
    expect(src.transport.of('SubstreamAck', 'stranger').map((x) => x.msg.mask)).not.toContain(2);
    // Sub-stream 0 already has its one child at the source.
    src.engine.receive(addr('p2'), { type: 'SubstreamSub', peerId: 'p2', contentId: C, count: 2, mask: 1, uploadBps: 0 });
    expect(src.transport.of('SubstreamAck', 'p2')[1]?.msg.mask).toBe(0);
    src.live.publishChunk(C, goodChunk(0));
    src.live.publishChunk(C, goodChunk(1));
    const pushed = src.transport.of('DataChunkResp').map((s) => `${s.to.peerId}:${s.msg.chunkId}`);
    expect(pushed).toEqual(['p1:0']);
    expect(src.live.stats(C)?.chunksPushed).toBe(1);
    expect(src.live.stats(C)?.pushChildren).toBe(1);
  });

  it('a sub-stream count the wire cannot carry is a broken config, named as such', () => {
    expect(() => liveNode({ config: { substreams: 33 } })).toThrow(/invalid live config: substreams must be a whole number in 0\.\.32/);
    expect(() => liveNode({ config: { substreams: 2.5 } })).toThrow(/substreams must be a whole number/);
  });

  it('lag control: a viewer whose last chunk played further behind its source time than lagTargetMs jumps to the join point, the chunks jumped over skipped', () => {
    // One miss makes playback wait lagStepMs more: the chunks after it play 4 s behind their source
    // time, past the 3.5 s target.
    const n = liveNode({ config: { chunkMs: 1000, prebufferMs: 3000, lagTargetMs: 3500, lagStepMs: 1000 } });
    const T0 = 100_000;
    n.clock.advance(T0);
    n.partner('a');
    // Source time of chunk i: chunk 20 is made at T0 + 100 ms, one chunk a second.
    const stamp = (id: number) => T0 + (id - 20) * 1000 + 100;
    const upTo = (last: number) => Array.from({ length: last + 1 }, (_, i) => i);
    n.advertise('a', upTo(20));
    n.tick();
    for (const id of [17, 19, 20]) n.respond('a', goodChunk(id, 1000, stamp(id))); // 18 never comes
    for (let t = 200; t <= 20_000; t += 100) {
      if (t % 1000 === 0) n.advertise('a', upTo(20 + t / 1000));
      n.tick(100);
      if (n.live.stats(C)?.lagJumps) break;
    }
    const s = n.live.stats(C);
    expect(n.events).toContain('skip:18');
    expect(n.ready).toEqual([17, 19, 20]);
    expect(s?.lagMs).toBeGreaterThan(3500);
    expect(s?.lagJumps).toBe(1);
    const newest = 20 + Math.floor((n.clock.now() - T0) / 1000);
    expect(s?.playheadId).toBe(newest - 3); // the join point: newest advertised less the prebuffer
    const skipped = n.events.filter((e) => e.startsWith('skip:')).map((e) => Number(e.slice(5)));
    expect(skipped).toEqual([18, ...Array.from({ length: newest - 3 - 21 }, (_, i) => 21 + i)]);
  });
});
