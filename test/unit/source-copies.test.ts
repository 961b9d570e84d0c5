import { describe, expect, it } from 'vitest';
import { SourceCopies } from '../../src/engine/source-copies.js';
import { addr } from '../helpers/engine-fakes.js';
import { C, goodChunk, liveNode } from '../helpers/live-fakes.js';

const opts = { maxCopiesPct: 140, urgentDueMs: 1000, urgentAgeMs: 2000, newcomerChunks: 3 };
/** An established requester (holds 10 chunks). */
const req = (chunkId: number, peerId: string) => ({ chunkId, peerId, requesterHolds: 10 });

describe('source copies budget (pure)', () => {
  it('serves about maxCopiesPct % copies per published chunk when every chunk is asked for 4 times', () => {
    const run = (maxCopiesPct: number) => {
      const p = new SourceCopies({ ...opts, maxCopiesPct });
      let served = 0;
      for (let id = 0; id < 100; id++) {
        const now = id * 1000;
        p.onPublish(id, now);
        for (const peer of ['a', 'b', 'c', 'd']) {
          if (p.admit(req(id, peer), now + 100)) {
            p.onServed(id);
            served++;
          }
        }
      }
      return served;
    };
    const budgeted = run(140);
    // 140 earned, give or take the small allowance (3 copies) left over or in debt at the end.
    expect(budgeted).toBeGreaterThanOrEqual(137);
    expect(budgeted).toBeLessThanOrEqual(143);
    expect(run(0)).toBe(400); // no budget: every request served
  });

  it('never defers a first copy, an urgent chunk or a newcomer', () => {
    const p = new SourceCopies(opts);
    p.onPublish(0, 0);
    expect(p.admit(req(0, 'a'), 0)).toBe(true);
    p.onServed(0);
    // Allowance left: 1.4 earned - 1 spent = 0.4 copies: a second established partner is deferred,
    expect(p.allowance).toBeCloseTo(0.4);
    expect(p.admit(req(0, 'b'), 100)).toBe(false);
    expect(p.admit(req(0, 'b'), 1999)).toBe(false);
    // a newcomer (holds fewer chunks than its prebuffer) is served,
    expect(p.admit({ chunkId: 0, peerId: 'e', requesterHolds: 2 }, 300)).toBe(true);
    // and once the chunk is urgentAgeMs old, anyone is served.
    expect(p.admit(req(0, 'b'), 2000)).toBe(true);
    // Copies sent drive the allowance into debt; a new chunk's first copy is still served.
    for (let i = 0; i < 4; i++) p.onServed(0);
    p.onPublish(1, 2000);
    expect(p.allowance).toBeLessThan(1);
    expect(p.admit(req(1, 'x'), 2000)).toBe(true);
    p.onServed(1);
    expect(p.admit(req(1, 'y'), 2000)).toBe(false);
  });

  it("reads urgency from the requester's deadline when the request carries one", () => {
    const p = new SourceCopies(opts);
    p.onPublish(0, 0);
    p.onServed(0);
    const due = (peerId: string, dueInMs: number) => ({ ...req(0, peerId), dueInMs });
    // Allowance spent (0.4): a request due in 1.5 s is deferred, one due in 0.9 s is served.
    expect(p.admit(due('b', 1500), 100)).toBe(false);
    expect(p.admit(due('b', 999), 100)).toBe(true);
    // A viewer that plays 5 s behind asks for a chunk 2.5 s old: by age it would be urgent, by
    // its own deadline (2.5 s away) it is not.
    expect(p.admit(due('c', 2500), 2500)).toBe(false);
    expect(p.admit(req(0, 'c'), 2500)).toBe(true); // no deadline in the request: the age rule
  });

  it('forgets chunks that left the window and rejects a bad budget', () => {
    const p = new SourceCopies(opts);
    p.onPublish(0, 0);
    p.onServed(0);
    p.onServed(0);
    p.forgetBelow(1);
    expect(p.admit(req(0, 'z'), 0)).toBe(true); // unknown chunk: nothing to budget
    expect(() => new SourceCopies({ ...opts, maxCopiesPct: -1 })).toThrow(/maxCopiesPct/);
  });
});

describe('source copies budget (live source)', () => {
  function source(sourceMaxCopiesPct: number) {
    const n = liveNode({ viewer: false, config: { chunkMs: 1000, prebufferMs: 3000, sourceFirstCopies: 0, sourceMaxCopiesPct, sendTargetDelayMs: 0 } });
    n.live.startSource(C);
    const peers = ['p1', 'p2', 'p3', 'p4', 'p5'];
    for (const p of peers) n.partner(p);
    for (let id = 0; id < 10; id++) n.live.publishChunk(C, goodChunk(id, 10_000));
    // Every partner is established: it holds chunks 0..9.
    for (const p of peers) n.advertise(p, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    n.tick();
    n.live.publishChunk(C, goodChunk(10, 10_000));
    n.transport.clear();
    return { n, peers };
  }
  const ask = (n: ReturnType<typeof liveNode>, peer: string, id: number) =>
    n.engine.receive(addr(peer), { type: 'DataChunkReq', peerId: peer, contentId: C, chunkId: id });
  const served = (n: ReturnType<typeof liveNode>) => n.transport.of('DataChunkResp').map((s) => s.to.peerId);

  it('answers busy once the allowance is spent on copies of a chunk already served', () => {
    const { n, peers } = source(140);
    for (const p of peers) ask(n, p, 10);
    // Allowance: 3 copies (capped); the 4th and 5th requests are deferred.
    expect(served(n)).toEqual(['p1', 'p2', 'p3']);
    const busy = n.transport.of('DataChunkReject').filter((s) => s.msg.reason === 'busy').map((s) => s.to.peerId);
    expect(busy).toEqual(['p4', 'p5']);
    expect(n.live.stats(C)?.sourceDeferred).toBe(2);
    // A newcomer (no map yet) is served all the same.
    n.partner('fresh');
    ask(n, 'fresh', 10);
    expect(served(n)).toEqual(['p1', 'p2', 'p3', 'fresh']);
  });

  it('serves every request without a budget (sourceMaxCopiesPct 0)', () => {
    const { n, peers } = source(0);
    for (const p of peers) ask(n, p, 10);
    expect(served(n)).toEqual(peers);
    expect(n.live.stats(C)?.sourceDeferred).toBe(0);
  });

  it("defers a DataChunkDue until the requester's deadline is within sourceUrgentMs", () => {
    const { n, peers } = source(140);
    for (const p of peers.slice(0, 3)) ask(n, p, 10);
    const due = (peer: string, dueInMs: number) =>
      n.engine.receive(addr(peer), { type: 'DataChunkDue', peerId: peer, contentId: C, chunkId: 10, dueInMs });
    due('p4', 2000);
    expect(served(n)).not.toContain('p4');
    due('p4', 900);
    expect(served(n)).toContain('p4');
    expect(n.live.stats(C)?.sourceDeferred).toBe(1);
  });

  it('counts the copy it pushes, so the next request for that chunk is a second copy', () => {
    const n = liveNode({ viewer: false, config: { chunkMs: 1000, prebufferMs: 3000, substreams: 1, sourcePushChildren: 1, sourceFirstCopies: 0, sourceMaxCopiesPct: 10, sendTargetDelayMs: 0 } });
    n.live.startSource(C);
    for (const p of ['child', 'p2']) n.partner(p);
    for (let id = 0; id < 10; id++) n.live.publishChunk(C, goodChunk(id, 10_000));
    for (const p of ['child', 'p2']) n.advertise(p, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    n.tick();
    n.engine.receive(addr('child'), { type: 'SubstreamSub', peerId: 'child', contentId: C, count: 1, mask: 1, uploadBps: 0 });
    expect(n.transport.of('SubstreamAck', 'child')[0]?.msg.mask).toBe(1);
    n.transport.clear();
    n.live.publishChunk(C, goodChunk(10, 10_000));
    expect(served(n)).toEqual(['child']);
    // 11 chunks published at 0.1 copies each, one copy pushed: the allowance is 0.1. The push was
    // chunk 10's first copy, so an established partner's request is a second copy and waits for the
    // budget (it was served as a "first copy" when the push went uncounted).
    ask(n, 'p2', 10);
    expect(served(n)).toEqual(['child']);
    expect(n.live.stats(C)?.sourceDeferred).toBe(1);
  });

  it('serves an urgent request (chunk close to its deadline) whatever the allowance', () => {
    const { n, peers } = source(140);
    for (const p of peers.slice(0, 3)) ask(n, p, 10);
    ask(n, 'p4', 10);
    expect(served(n)).not.toContain('p4'); // allowance spent
    for (let i = 0; i < 20; i++) n.tick(100); // chunk 10 is 2 s old: a minimum-lag viewer's deadline is 1 s away
    ask(n, 'p4', 10);
    expect(served(n)).toContain('p4');
    expect(n.live.stats(C)?.sourceDeferred).toBe(1);
  });
});
