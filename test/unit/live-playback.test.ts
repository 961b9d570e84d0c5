import { describe, expect, it } from 'vitest';
import type { ChunkRecord } from '../../src/engine/chunk-buffer.js';
import { Playback, type PlaybackSink } from '../../src/engine/playback.js';

const chunk = (id: number): ChunkRecord => ({ id, timestampMs: 0, signature: new Uint8Array(0), data: new Uint8Array(1) });

function setup(opts: { rebuffer?: boolean } = {}) {
  const pb = new Playback({ chunkMs: 1000, prebufferMs: 3000, ...opts });
  const held = new Set<number>();
  const log: string[] = [];
  const sink: PlaybackSink = {
    ready: (c, now) => log.push(`ready:${c.id}@${now}`),
    skipped: (id) => log.push(`skip:${id}`),
    started: (first) => log.push(`start:${first}`),
  };
  const get = (id: number) => (held.has(id) ? chunk(id) : undefined);
  return { pb, held, log, sink, get };
}

describe('playback (playhead, deadlines, continuity)', () => {
  it('hands chunks over in order as soon as contiguous; starts once the prebuffer is held', () => {
    const { pb, held, log, sink, get } = setup();
    pb.join(10, 0);
    held.add(11);
    pb.advance(100, get, sink);
    expect(log).toEqual([]); // 10 missing: nothing contiguous yet, and no skipping before start
    held.add(10);
    pb.advance(200, get, sink);
    expect(log).toEqual(['ready:10@200', 'ready:11@200']);
    held.add(12);
    pb.advance(300, get, sink);
    expect(log.slice(2)).toEqual(['ready:12@300', 'start:10']);
    expect(pb.playStart).toBe(300);
    expect(pb.deadline(15, 300)).toBe(300 + 5000);
  });

  it('starts prebufferMs after the first chunk at the latest', () => {
    const { pb, held, log, sink, get } = setup();
    pb.join(0, 0);
    held.add(0);
    pb.advance(500, get, sink);
    pb.advance(3499, get, sink);
    expect(pb.started).toBe(false);
    pb.advance(3500, get, sink);
    expect(log).toEqual(['ready:0@500', 'start:0']);
    // deadline(id) = playStart + (id − firstId) × chunkMs
    expect(pb.deadline(2, 3500)).toBe(5500);
  });

  it('reports continuity null (not yet playing), never 1, until a chunk was due', () => {
    const { pb, held, sink, get } = setup();
    expect(pb.continuityIndex).toBeNull(); // not even joined
    pb.join(0, 0);
    pb.advance(10_000, get, sink); // joined, nothing arrived: nothing played
    expect(pb.continuityIndex).toBeNull();
    held.add(0);
    pb.advance(10_001, get, sink); // handed over, prebuffer not yet held: still nothing due
    expect(pb.started).toBe(false);
    expect(pb.continuityIndex).toBeNull();
    for (const id of [1, 2]) held.add(id);
    pb.advance(10_002, get, sink); // started: chunk 0 is due now, on time
    expect(pb.chunksDue).toBe(1);
    expect(pb.continuityIndex).toBe(1);
  });

  it('skips a chunk missing at its deadline, counts continuity = on time / due', () => {
    const { pb, held, log, sink, get } = setup();
    pb.join(0, 0);
    for (const id of [0, 1, 2]) held.add(id);
    pb.advance(0, get, sink); // 0,1,2 ready, started at 0: deadline(id) = 1000 × id
    held.add(4);
    held.add(5);
    pb.advance(2999, get, sink);
    expect(pb.chunksDue).toBe(3); // ids 0,1,2 (deadlines 0, 1000, 2000)
    expect(pb.continuityIndex).toBe(1);
    pb.advance(3000, get, sink); // 3 missing at its deadline: skipped; 4 and 5 follow at once
    expect(log.slice(-3)).toEqual(['skip:3', 'ready:4@3000', 'ready:5@3000']);
    expect([pb.chunksDue, pb.chunksOnTime, pb.chunksSkipped, pb.stalls]).toEqual([4, 3, 1, 1]);
    pb.advance(6000, get, sink); // 6 missing: skipped at 6000; 4,5 fell due on time
    expect([pb.chunksDue, pb.chunksOnTime, pb.chunksSkipped, pb.stalls]).toEqual([7, 5, 2, 2]);
    expect(pb.continuityIndex).toBeCloseTo(5 / 7, 10);
    expect(pb.nextId).toBe(7);
    // A chunk that arrives after it was skipped is never handed over.
    held.add(3);
    pb.advance(6100, get, sink);
    expect(log.filter((l) => l.startsWith('ready:3'))).toEqual([]);
  });

  it('rebuffers instead of skipping a chunk nobody has yet (ahead of the swarm)', () => {
    const { pb, held, log, sink, get } = setup({ rebuffer: true });
    pb.join(0, 0);
    for (const id of [0, 1, 2]) held.add(id);
    pb.advance(0, get, sink);
    const newestAround = 2; // partners hold nothing newer than 2
    const canArrive = (id: number) => id <= newestAround;
    pb.advance(3500, get, sink, canArrive);
    expect(log.filter((l) => l.startsWith('skip'))).toEqual([]);
    expect([pb.rebuffers, pb.rebufferMs, pb.stalls, pb.chunksSkipped]).toEqual([1, 500, 1, 0]);
    expect(pb.deadline(3, 3500)).toBe(3500); // the schedule moved: 3 is due now
    held.add(3);
    pb.advance(3600, get, sink, canArrive);
    expect(log.at(-1)).toBe('ready:3@3600');
    expect(pb.continuityIndex).toBe(1);
  });

  it('jumps forward when it fell behind every partner: jumped chunks count as skipped', () => {
    const { pb, held, sink, get } = setup();
    pb.join(0, 0);
    for (const id of [0, 1, 2]) held.add(id);
    pb.advance(0, get, sink);
    expect(pb.jumpTo(10, 3000)).toBe(7);
    expect([pb.nextId, pb.chunksSkipped, pb.chunksDue, pb.stalls]).toEqual([10, 7, 10, 1]);
    expect(pb.deadline(10, 3000)).toBe(6000); // a fresh prebuffer
  });
});
