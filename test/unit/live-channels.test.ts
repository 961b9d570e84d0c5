import { describe, expect, it } from 'vitest';
import { BufferMap } from '../../src/engine/buffer-map.js';
import type { BufferMapDelta } from '../../src/protocol/messages.js';
import { addr } from '../helpers/engine-fakes.js';
import { C, goodChunk, joined, liveNode } from '../helpers/live-fakes.js';

const owner = (n: ReturnType<typeof liveNode>, id: number) =>
  n.transport.of('DataChunkReq').filter((s) => s.msg.chunkId === id).map((s) => s.to.peerId);

describe('live channels: fetching', () => {
  it('joins prebufferMs behind the newest advertised chunk and plays from there in order', () => {
    const n = joined();
    const asked = n.transport.of('DataChunkReq').map((s) => s.msg.chunkId).sort((x, y) => x - y);
    expect(asked).toEqual([17, 18, 19, 20]);
    for (const id of [18, 17, 20]) n.respond(owner(n, id)[0] as string, goodChunk(id));
    expect(n.ready).toEqual([17, 18]);
    n.respond(owner(n, 19)[0] as string, goodChunk(19));
    expect(n.ready).toEqual([17, 18, 19, 20]);
    expect(n.events).toEqual(['start:17']);
    const s = n.live.stats(C);
    expect(s?.startupDelayMs).toBe(100);
    expect(s?.playheadId).toBe(21);
    expect(s?.chunkBytesIn).toBeGreaterThan(4 * 1000);
  });

  it('re-requests elsewhere when a request times out; the late copy is a harmless duplicate', () => {
    const n = joined({ requestTimeoutMs: 2000, urgentMs: 0 });
    const first = owner(n, 17)[0] as string;
    const other = first === 'a' ? 'b' : 'a';
    n.transport.clear();
    for (let i = 0; i < 20; i++) n.tick(100); // 2 s later
    expect(owner(n, 17)).toEqual([other]);
    expect(n.live.stats(C)?.requestTimeouts).toBeGreaterThanOrEqual(1);
    n.respond(other, goodChunk(17));
    n.respond(first, goodChunk(17));
    const s = n.live.stats(C);
    expect(s?.duplicates).toBe(1);
    expect(s?.badChunks).toBe(0);
    expect(n.engine.isPartner(C, first)).toBe(true);
  });

  it('asks a second partner for an urgent chunk whose first request is late', () => {
    const n = joined({ urgentMs: 2500, requestTimeoutMs: 10_000 });
    // Deliver 18..20 so playback starts (prebuffer) and 17's deadline comes near.
    const first = owner(n, 17)[0] as string;
    for (const id of [18, 19, 20]) n.respond(owner(n, id)[0] as string, goodChunk(id));
    n.transport.clear();
    for (let i = 0; i < 10 && owner(n, 17).length === 0; i++) n.tick(100);
    expect(owner(n, 17)).toEqual([first === 'a' ? 'b' : 'a']);
    expect(n.live.stats(C)?.redundantRequests).toBe(1);
  });

  it('never asks a partner again for an id it refused; a busy partner is only paused', () => {
    // Prebuffer 1 s: join point 19, one request per partner (room in each request window).
    const n = joined({ urgentMs: 0, busyBackoffMs: 300, prebufferMs: 1000 });
    const first = owner(n, 19)[0] as string;
    const other = first === 'a' ? 'b' : 'a';
    n.reject(first, 19, 'missing');
    n.transport.clear();
    n.tick();
    expect(owner(n, 19)).toEqual([other]);
    n.reject(other, 19, 'busy');
    n.transport.clear();
    n.tick(100);
    expect(owner(n, 19)).toEqual([]); // first refused it for good, other is paused
    n.respond(other, goodChunk(20)); // (its request window, halved by 'busy', frees up)
    n.tick(300);
    expect(owner(n, 19)).toEqual([other]);
  });

  it('skips a chunk missing at its deadline and counts continuity', () => {
    const n = joined({ urgentMs: 0, rebufferWhenAhead: 1 });
    for (const id of [17, 18, 19]) n.respond(owner(n, id)[0] as string, goodChunk(id));
    expect(n.events).toEqual(['start:17']); // started at t = 100: deadline(id) = 100 + (id − 17) s
    for (let t = 100; t < 3200; t += 100) n.tick(100);
    // 20 was advertised (it exists) but never came: skipped at 3100.
    expect(n.events).toEqual(['start:17', 'skip:20']);
    const s = n.live.stats(C);
    expect([s?.chunksDue, s?.chunksOnTime, s?.chunksSkipped]).toEqual([4, 3, 1]);
    expect(s?.continuityIndex).toBe(0.75);
  });
});

describe('live channels: verification', () => {
  it('a bad chunk is not stored nor forwarded; its sender is dropped, counted and blacklisted', () => {
    const n = joined({ blacklistMs: 60_000, prebufferMs: 1000 });
    const liar = owner(n, 19)[0] as string;
    const honest = liar === 'a' ? 'b' : 'a';
    const bad = goodChunk(19);
    bad.data[500] = 0;
    n.transport.clear();
    n.respond(liar, bad);
    expect(n.events).toEqual([expect.stringMatching(new RegExp(`^bad:${liar}:19:`))]);
    const s = n.live.stats(C);
    expect([s?.badChunks, s?.partnersBlacklisted]).toEqual([1, 1]);
    expect(n.live.bufferOf(C)?.has(19)).toBe(false);
    expect(n.ready).toEqual([]);
    // Partnership removed (and told), peer blocked: its new partnership request is refused.
    expect(n.engine.isPartner(C, liar)).toBe(false);
    expect(n.transport.of('PartnershipRemove', liar)).toHaveLength(1);
    expect(n.engine.isBlocked(C, liar)).toBe(true);
    n.partner(liar);
    expect(n.transport.of('PartnershipResp', liar).at(-1)?.msg).toMatchObject({ accepted: false, reason: 'blocked' });
    expect(n.engine.isPartner(C, liar)).toBe(false);
    // Not forwarded: a partner asking us for 19 is refused.
    n.engine.receive(addr(honest), { type: 'DataChunkReq', peerId: honest, contentId: C, chunkId: 19 });
    expect(n.transport.of('DataChunkReject', honest).at(-1)?.msg).toMatchObject({ chunkId: 19, reason: 'missing' });
    expect(n.transport.of('DataChunkResp')).toHaveLength(0);
    // The id is fetched from the honest partner instead; after the blacklist expires the peer may come back.
    n.tick();
    expect(owner(n, 19)).toContain(honest);
    n.clock.advance(60_000);
    n.partner(liar);
    expect(n.engine.isPartner(C, liar)).toBe(true);
  });

  it('drops chunks nobody asked for, oversized chunks count as bad', () => {
    const n = joined({ maxChunkBytes: 2000 });
    n.respond('a', goodChunk(5)); // never requested
    expect(n.live.stats(C)?.unsolicited).toBe(1);
    expect(n.live.bufferOf(C)?.has(5)).toBe(false);
    const from = owner(n, 18)[0] as string;
    n.respond(from, goodChunk(18, 3000));
    expect(n.live.stats(C)?.badChunks).toBe(1);
    expect(n.live.bufferOf(C)?.has(18)).toBe(false);
  });
});

describe('live channels: serving and buffer maps', () => {
  function source(config = {}) {
    const n = liveNode({ viewer: false, config: { chunkMs: 1000, sourceFirstCopies: 0, ...config } });
    n.live.startSource(C);
    for (let id = 0; id < 10; id++) n.live.publishChunk(C, goodChunk(id, 10_000));
    return n;
  }
  const ask = (n: ReturnType<typeof liveNode>, peer: string, id: number) =>
    n.engine.receive(addr(peer), { type: 'DataChunkReq', peerId: peer, contentId: C, chunkId: id });

  it('upload slots: one partner gets at most uploadSlotsPerPartner requests queued, others still served', () => {
    // 80 kbit/s pacing: one 10 kB chunk per second.
    const n = source({ uploadSlotsPerPartner: 2, uploadBps: 80_000, maxServeQueueMs: 60_000 });
    n.partner('greedy');
    n.partner('other');
    n.tick();
    n.transport.clear();
    for (let id = 0; id < 8; id++) ask(n, 'greedy', id);
    ask(n, 'other', 9);
    const busy = n.transport.of('DataChunkReject', 'greedy').filter((s) => s.msg.reason === 'busy');
    // The first request leaves at once (burst credit); two more wait; the other five are refused.
    expect(busy).toHaveLength(5);
    for (let i = 0; i < 40; i++) n.tick(100);
    expect(n.transport.of('DataChunkResp', 'greedy')).toHaveLength(3);
    expect(n.transport.of('DataChunkResp', 'other').map((s) => s.msg.chunkId)).toEqual([9]);
    expect(n.live.stats(C)?.requestsRefused).toBe(5);
  });

  it('a source serves the newest chunk first whatever serveNewestSharePct says (older ones are in the swarm)', () => {
    // 80 kbit/s pacing: one 10 kB chunk per second; viewers with this config would go round-robin.
    const n = source({ uploadBps: 80_000, maxServeQueueMs: 60_000, serveNewestSharePct: 0 });
    n.partner('a');
    n.partner('b');
    n.tick();
    n.transport.clear();
    for (const id of [1, 2, 3]) ask(n, 'a', id);
    ask(n, 'b', 9);
    for (let i = 0; i < 50; i++) n.tick(100);
    // 1 leaves at once (burst credit); then newest first: 9, 3, 2 (round-robin would give 9, 2, 3).
    expect(n.transport.of('DataChunkResp').map((s) => s.msg.chunkId)).toEqual([1, 9, 3, 2]);
  });

  it('unpaced: a served request holds its slot for unpacedSlotMs', () => {
    const n = source({ uploadSlotsPerPartner: 2, uploadBps: 0, unpacedSlotMs: 1000, sendTargetDelayMs: 0 });
    n.partner('p');
    n.tick();
    n.transport.clear();
    for (let id = 0; id < 3; id++) ask(n, 'p', id);
    expect(n.transport.of('DataChunkResp', 'p')).toHaveLength(2);
    expect(n.transport.of('DataChunkReject', 'p').map((s) => s.msg.reason)).toEqual(['busy']);
    n.clock.advance(1000);
    ask(n, 'p', 2);
    expect(n.transport.of('DataChunkResp', 'p')).toHaveLength(3);
  });

  it('serves partners only, and says when it does not hold a chunk', () => {
    const n = source();
    n.partner('p');
    ask(n, 'stranger', 1);
    ask(n, 'p', 99);
    expect(n.transport.of('DataChunkReject', 'stranger').at(-1)?.msg.reason).toBe('not-partner');
    expect(n.transport.of('DataChunkReject', 'p').at(-1)?.msg.reason).toBe('missing');
    expect(n.transport.of('DataChunkResp')).toHaveLength(0);
  });

  it('sends its buffer map at once to a new partner, then every period; compact: the window only', () => {
    const n = source({ bufferMapPeriodMs: 500 });
    n.partner('p');
    n.tick();
    const maps = () => n.transport.of('BufferMapInfo', 'p').map((s) => s.msg);
    expect(maps()).toHaveLength(1);
    expect(maps()[0]).toMatchObject({ baseId: 0, length: 10 });
    n.tick(100);
    expect(maps()).toHaveLength(1);
    for (let i = 0; i < 5; i++) n.tick(100);
    expect(maps()).toHaveLength(2);
    const s = n.live.stats(C);
    expect(s?.controlBytesOut).toBeGreaterThan(0);
    expect(s?.chunkBytesOut).toBe(0);
  });

  it('a partner that takes map deltas gets what changed, rebuilding our map exactly; a whole map every bufferMapFullMs; others get whole maps', () => {
    const n = source({ bufferMapPeriodMs: 500, bufferMapMinGapMs: 0, bufferMapFullMs: 2000 });
    n.partner('d');
    n.partner('old');
    n.engine.receive(addr('d'), { type: 'Features', peerId: 'd', contentId: C, names: ['map-delta'] });
    n.tick();
    let held: BufferMap | undefined;
    const sent = () => n.transport.sent.filter((s) => s.to.peerId === 'd' && (s.msg.type === 'BufferMapInfo' || s.msg.type === 'BufferMapDelta'));
    for (let id = 10; id < 30; id++) {
      n.live.publishChunk(C, goodChunk(id, 10_000));
      n.tick(250);
    }
    const kinds = sent().map((s) => s.msg.type);
    for (const s of sent()) held = s.msg.type === 'BufferMapInfo' ? BufferMap.fromWire(s.msg) : BufferMap.applyDelta(held ?? BufferMap.empty(), s.msg as BufferMapDelta);
    const own = n.live.bufferOf(C)?.map() as BufferMap;
    expect(held?.heldIds()).toEqual(own.heldIds());
    expect(held?.baseId).toBe(own.baseId);
    expect(kinds.filter((k) => k === 'BufferMapDelta').length).toBeGreaterThan(14);
    // 5 s of publishing: the first map plus one whole map every 2 s.
    expect(kinds.filter((k) => k === 'BufferMapInfo')).toHaveLength(3);
    for (const s of sent()) if (s.msg.type === 'BufferMapDelta') expect(s.msg.length).toBeLessThanOrEqual(8);
    expect(n.transport.of('BufferMapDelta', 'old')).toHaveLength(0);
    expect(n.transport.of('BufferMapInfo', 'old').length).toBeGreaterThan(19);
  });

  it('source: a new chunk is advertised to its first-copy partner at once, to the others after sourceRevealMs', () => {
    const n = liveNode({ viewer: false, config: { chunkMs: 1000, sourceFirstCopies: 1, sourceRevealMs: 1000, bufferMapPeriodMs: 200 } });
    n.live.startSource(C);
    for (const p of ['p1', 'p2', 'p3']) n.partner(p);
    n.tick();
    n.transport.clear();
    n.live.publishChunk(C, goodChunk(0, 1000));
    const shows = (p: string) => n.transport.of('BufferMapInfo', p).some((s) => s.msg.length > 0 && ((s.msg.bits[0] as number) & 0x80) !== 0);
    const first = ['p1', 'p2', 'p3'].filter(shows);
    expect(first).toHaveLength(1);
    for (let i = 0; i < 5; i++) n.tick(100);
    expect(['p1', 'p2', 'p3'].filter(shows)).toHaveLength(1);
    for (let i = 0; i < 6; i++) n.tick(100);
    expect(['p1', 'p2', 'p3'].filter(shows)).toHaveLength(3);
    expect(n.live.stats(C)?.streamBytes).toBe(1000);
  });
});
