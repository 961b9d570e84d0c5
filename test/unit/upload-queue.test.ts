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
