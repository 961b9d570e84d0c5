// The main node's bridge over its uplink and segment engines (same peer id): one partner list with
// siblings reached over the segment only, sends routed to the right side, uplink chunk accounting;
// and PeerEngine.setTracker, which lets a segment peer follow a new local tracker.
import { describe, expect, it } from 'vitest';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import { PeerEngine } from '../../src/engine/peer-engine.js';
import { BridgedEngine } from '../../src/segment/bridged-engine.js';
import type { Message } from '../../src/protocol/messages.js';
import { addr, ManualClock, RecordingTransport } from '../helpers/engine-fakes.js';

function engine(clock: ManualClock, transport: RecordingTransport, tracker?: { host: string; port: number }) {
  return new PeerEngine({ self: { peerId: 'm1', contact: { host: 'm1.test', port: 7000 }, role: 'main' }, clock, random: { next: () => 0.5 }, transport, config: DEFAULT_ENGINE_CONFIG, ...(tracker ? { tracker } : {}) });
}

const req = (peerId: string): Message => ({ type: 'PartnershipReq', peerId, contentId: 'c1' });

describe('BridgedEngine', () => {
  it('merges partners (segment first, siblings once), routes sends and counts uplink chunks', () => {
    const clock = new ManualClock(1000);
    const tU = new RecordingTransport();
    const tS = new RecordingTransport();
    const U = engine(clock, tU);
    const S = engine(clock, tS);
    const bridge = new BridgedEngine(U, S, clock);
    bridge.join('c1', 'live');
    expect(U.isActive('c1') && S.isActive('c1')).toBe(true);
    for (const p of ['r1', 'm2']) U.receive(addr(p), req(p));
    for (const p of ['l1', 'm2']) S.receive(addr(p), req(p));
    expect(bridge.partnersOf('c1').map((p) => p.peerId)).toEqual(['l1', 'm2', 'r1']);
    expect(bridge.sideOf('c1', 'm2')).toBe('segment');
    expect(bridge.sideOf('c1', 'r1')).toBe('uplink');

    tU.clear();
    tS.clear();
    for (const p of ['r1', 'l1', 'm2']) bridge.send(addr(p), { type: 'DataChunkReq', peerId: 'm1', contentId: 'c1', chunkId: 5 });
    expect(tU.of('DataChunkReq').map((s) => s.to.peerId)).toEqual(['r1']);
    expect(tS.of('DataChunkReq').map((s) => s.to.peerId)).toEqual(['l1', 'm2']);
    expect(bridge.uplinkCounters.lastRequestAt).toBe(1000);

    const got: string[] = [];
    bridge.setContentMessageHandler((from, msg) => got.push(`${msg.type}<${from.peerId}`));
    const chunk = (peerId: string): Message => ({ type: 'DataChunkResp', peerId, contentId: 'c1', chunkId: 5, timestampMs: 1, signature: new Uint8Array(64), data: new Uint8Array(1000) });
    U.receive(addr('r1'), chunk('r1'));
    S.receive(addr('l1'), chunk('l1'));
    expect(got).toEqual(['DataChunkResp<r1', 'DataChunkResp<l1']);
    expect(bridge.uplinkCounters).toMatchObject({ chunkBytesIn: 1000, chunksIn: 1, lastChunkAt: 1000 });
    expect(bridge.uplinkCounters.byContent.get('c1')).toBe(1000);

    bridge.setSiblings(['m2', 'm1']);
    bridge.tick(['c1']);
    expect(U.isPartner('c1', 'm2')).toBe(false);
    expect(U.isBlocked('c1', 'm2')).toBe(true);
    expect(S.isPartner('c1', 'm2')).toBe(true);
    expect(bridge.partnersOf('c1').map((p) => p.peerId)).toEqual(['l1', 'm2', 'r1']);
  });

  it('refuses sides with different peer ids', () => {
    const clock = new ManualClock();
    const other = new PeerEngine({ self: { peerId: 'x', contact: { host: 'x', port: 1 }, role: 'main' }, clock, random: { next: () => 0 }, transport: new RecordingTransport(), config: DEFAULT_ENGINE_CONFIG });
    expect(() => new BridgedEngine(engine(clock, new RecordingTransport()), other, clock)).toThrow(/same peer id/);
  });
});

describe('PeerEngine.setTracker', () => {
  it('joins through a tracker found later, again at a new one, and stops asking with none', () => {
    const clock = new ManualClock();
    const t = new RecordingTransport();
    const e = engine(clock, t);
    e.join('c1', 'live');
    expect(t.of('TrackerJoin')).toEqual([]);
    const a = { host: '10.0.0.1', port: 7879 };
    e.setTracker(a);
    expect(t.of('TrackerJoin').map((s) => s.to.contact)).toEqual([a]);
    e.setTracker({ ...a });
    expect(t.of('TrackerJoin').length).toBe(1);
    const b = { host: '10.0.0.2', port: 7879 };
    e.setTracker(b);
    expect(t.of('TrackerJoin').map((s) => s.to.contact)).toEqual([a, b]);
    e.setTracker(undefined);
    expect(e.snapshot().contents[0]?.join).toBe('joined');
    clock.advance(10_000);
    e.tick();
    expect(t.of('TrackerJoin').length).toBe(2);
  });
});
