import { describe, expect, it } from 'vitest';
import { UploadQueue, type ServeRequest } from '../../src/engine/upload-queue.js';

const CHUNK = 62_500; // 0.5 s of a 1 Mbit/s stream: 500 ms on a 1 Mbit/s uplink

function paced(maxServeQueueMs: number) {
  const q = new UploadQueue<string>({ uploadBps: 1_000_000, maxServeQueueMs, slotsPerPartner: 4, unpacedSlotMs: 1000, newestSharePct: 50 });
  const req = (peerId: string, chunkId: number): ServeRequest<string> => ({ peer: peerId, peerId, chunkId, bytes: CHUNK });
  return { q, req };
}

describe('upload queue (paced)', () => {
  it('always accepts three transmission times of work, however short maxServeQueueMs is', () => {
    const { q, req } = paced(500);
    const refused: number[] = [];
    const results = [1, 2, 3, 4, 5].map((id) => q.offer(req(`p${id}`, id), 0, (r) => refused.push(r.chunkId)));
    // Waits before each: 0, 0.4, 0.9, 1.4 s (a 100 ms burst credit), then 1.9 s > 3 × 0.5 s.
    expect(results).toEqual(['queued', 'queued', 'queued', 'queued', 'busy-uplink']);
    expect(refused).toEqual([]);
  });

  it('a longer maxServeQueueMs still rules when it is the larger limit', () => {
    const { q, req } = paced(10_000);
    const results = [1, 2, 3, 4, 5, 6].map((id) => q.offer(req(`p${id}`, id), 0, () => {}));
    expect(results.every((r) => r === 'queued')).toBe(true);
  });

  it('gives up a request that waited longer than the limit, telling its partner', () => {
    const { q, req } = paced(500);
    const sent: number[] = [];
    const refused: number[] = [];
    for (const id of [1, 2, 3, 4]) q.offer(req(`p${id}`, id), 0, () => {});
    // Nothing drained until 1.6 s (the uplink was "stuck"): all four waited > 1.5 s.
    q.drain(1600, (r) => (sent.push(r.chunkId), r.bytes), (r) => refused.push(r.chunkId));
    expect(refused.sort()).toEqual([1, 2, 3, 4]);
    expect(sent).toEqual([]);
  });
});

describe('upload queue (requests with a deadline)', () => {
  // Unpaced behind a send window that lets one piece leave per drain.
  function gated(maxServeQueueMs = 1000) {
    let open = 0;
    const gate = { open: () => open > 0, markLimited: () => {}, rateBps: 1_000_000, inFlightBytes: 0 };
    const q = new UploadQueue<string>({ uploadBps: 0, maxServeQueueMs, slotsPerPartner: 8, unpacedSlotMs: 0, newestSharePct: 0, gate });
    const sent: string[] = [];
    const drain = (n: number) => {
      open = n;
      q.drain(0, (r) => (open--, sent.push(`${r.peerId}:${r.chunkId}`), r.bytes), () => {});
    };
    const req = (peerId: string, chunkId: number, dueAt?: number): ServeRequest<string> => ({ peer: peerId, peerId, chunkId, bytes: CHUNK, ...(dueAt !== undefined ? { dueAt } : {}) });
    return { q, req, sent, drain };
  }

  it('serves requests with a deadline first, earliest first, then the rest round-robin', () => {
    const { q, req, sent, drain } = gated(10_000);
    for (const id of [1, 2, 3]) q.offer(req('a', id), 0, () => {}); // rarest-first pieces of one downloader
    q.offer(req('b', 7, 5000), 0, () => {}); // a viewer's window piece, due in 5 s
    q.offer(req('c', 9, 800), 0, () => {}); // another viewer's next piece, due in 0.8 s
    q.offer(req('b', 4), 0, () => {});
    drain(6);
    expect(sent).toEqual(['c:9', 'b:7', 'a:1', 'b:4', 'a:2', 'a:3']);
  });

  it("drops a partner's queued request it cancels, and only that one", () => {
    const { q, req, sent, drain } = gated(10_000);
    for (const id of [1, 2, 3]) q.offer(req('a', id), 0, () => {});
    q.offer(req('b', 2), 0, () => {});
    expect(q.cancel('a', 2)).toBe(true);
    expect(q.cancel('a', 2)).toBe(false);
    expect(q.cancel('c', 1)).toBe(false);
    drain(10);
    expect(sent).toEqual(['a:1', 'b:2', 'a:3']);
    expect(q.length).toBe(0);
  });

  it('admits a request with a deadline by the wait behind the other deadlines only', () => {
    const { q, req } = gated();
    // 3 × 62.5 kB at 1 Mbit/s is 1.5 s of queue, over the 1.5 s limit (three transmission times) for a fourth
    for (const [p, id] of [['a', 1], ['a', 2], ['b', 3], ['b', 4]] as const) q.offer(req(p, id), 0, () => {});
    expect(q.offer(req('c', 5), 0, () => {})).toBe('busy-uplink');
    expect(q.offer(req('c', 6, 2000), 0, () => {})).toBe('queued');
  });

  it('admits a request with a deadline by the wait behind the deadlines served before it, not later ones', () => {
    const { q, req } = gated();
    // 4 pieces due in 5 s (2 s at 1 Mbit/s) are over the 1.5 s limit for anything due after them
    for (const [p, id] of [['a', 1], ['a', 2], ['b', 3], ['b', 7]] as const) q.offer(req(p, id, 5000), 0, () => {});
    expect(q.offer(req('c', 4, 6000), 0, () => {})).toBe('busy-uplink');
    // a viewer's next piece, due now, is served first under earliest-deadline-first: it waits for nothing
    expect(q.offer(req('c', 5, 0), 0, () => {})).toBe('queued');
  });

  it('refuses at once the later deadlines a new earlier one pushes beyond the limit', () => {
    const { q, req, sent, drain } = gated();
    const refused: number[] = [];
    // 4 pieces due in 5 s (0.5 s each at 1 Mbit/s): the last waits 1.5 s, the limit
    for (const [p, id] of [['a', 1], ['a', 2], ['b', 3], ['b', 4]] as const) expect(q.offer(req(p, id, 5000), 0, (r) => refused.push(r.chunkId))).toBe('queued');
    expect(q.offer(req('c', 9, 0), 0, (r) => refused.push(r.chunkId))).toBe('queued');
    expect(refused).toEqual([4]); // it would now wait 2 s: refused, not left to wait the limit out
    drain(10);
    expect(sent).toEqual(['c:9', 'a:1', 'a:2', 'b:3']);
  });
});
