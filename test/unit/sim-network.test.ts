import { describe, expect, it } from 'vitest';
import { SimNetwork } from '../../src/sim/sim-network.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { SeededRandom } from '../../src/sim/seeded-random.js';
import type { Message } from '../../src/protocol/messages.js';
import type { PeerAddress } from '../../src/engine/ports.js';

function recorder(clock: VirtualClock) {
  const log: string[] = [];
  return {
    log,
    endpoint: {
      receive: (from: PeerAddress, msg: Message) => log.push(`${clock.now()}:${from.peerId}:${msg.type}`),
      peerDisconnected: (id: string) => log.push(`${clock.now()}:lost:${id}`),
    },
  };
}
const keepAlive = (peerId: string): Message => ({ type: 'KeepAlive', peerId, contentId: '' });

describe('virtual clock', () => {
  it('runs timers in time order, FIFO among equal times, and only when advanced', () => {
    const clock = new VirtualClock(0);
    const out: string[] = [];
    clock.schedule(20, () => out.push('b'));
    clock.schedule(10, () => out.push('a1'));
    clock.schedule(10, () => out.push('a2'));
    const c = clock.schedule(15, () => out.push('cancelled'));
    c.cancel();
    expect(clock.advance(9)).toBe(0);
    expect(clock.advance(100)).toBe(3);
    expect(out).toEqual(['a1', 'a2', 'b']);
    expect(clock.now()).toBe(109);
  });
});

describe('seeded random', () => {
  it('is reproducible and within [0, 1)', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b.next()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
  });
});

describe('sim network', () => {
  it('delivers in order per link after latency and upload serialisation', () => {
    const clock = new VirtualClock(0);
    const net = new SimNetwork(clock, new SeededRandom(1), { minLatencyMs: 10, latencyPerUnitMs: 0, defaultUploadBps: 8000 });
    const a = recorder(clock);
    const b = recorder(clock);
    const ta = net.addNode('a', { host: 'a', port: 1 }, a.endpoint);
    net.addNode('b', { host: 'b', port: 1 }, b.endpoint);
    // 8000 bit/s = 1 byte/ms: a KeepAlive (~16 bytes) takes ~16 ms to leave.
    expect(ta.send({ peerId: 'b', contact: { host: 'b', port: 1 } }, keepAlive('a'))).toBe(true);
    expect(ta.send({ contact: { host: 'b', port: 1 } }, { type: 'TrackerLeave', peerId: 'a', contentId: 'x' })).toBe(true);
    clock.advance(1000);
    const times = b.log.map((l) => Number(l.split(':')[0]));
    expect(b.log.map((l) => l.split(':').slice(1).join(':'))).toEqual(['a:KeepAlive', 'a:TrackerLeave']);
    expect(times[0]).toBeGreaterThan(10);
    expect(times[1]).toBeGreaterThan(times[0] as number);
    expect(ta.send({ contact: { host: 'nobody', port: 1 } }, keepAlive('a'))).toBe(false);
  });

  it('kill drops in-flight messages and tells connected peers after the detection delay', () => {
    const clock = new VirtualClock(0);
    const net = new SimNetwork(clock, new SeededRandom(1), { detectionDelayMs: 500 });
    const a = recorder(clock);
    const b = recorder(clock);
    const ta = net.addNode('a', { host: 'a', port: 1 }, a.endpoint);
    const tb = net.addNode('b', { host: 'b', port: 1 }, b.endpoint);
    tb.send({ peerId: 'a', contact: { host: 'a', port: 1 } }, keepAlive('b'));
    net.kill('b');
    clock.advance(1000);
    expect(a.log).toEqual(['500:lost:b']);
    expect(ta.send({ peerId: 'b', contact: { host: 'b', port: 1 } }, keepAlive('a'))).toBe(true); // lost silently
    clock.advance(1000);
    expect(b.log).toEqual([]);
    expect(net.stats.lost).toBe(2);
  });

  it('disconnect tells the other side behind the messages already in flight', () => {
    const clock = new VirtualClock(0);
    const net = new SimNetwork(clock, new SeededRandom(1));
    const a = recorder(clock);
    const b = recorder(clock);
    const ta = net.addNode('a', { host: 'a', port: 1 }, a.endpoint);
    net.addNode('b', { host: 'b', port: 1 }, b.endpoint);
    ta.send({ peerId: 'b', contact: { host: 'b', port: 1 } }, { type: 'PartnershipRemove', peerId: 'a', contentId: 'c' });
    ta.disconnect('b');
    clock.advance(1000);
    expect(b.log.map((l) => l.split(':').slice(1).join(':'))).toEqual(['a:PartnershipRemove', 'lost:a']);
    expect(a.log).toEqual([]);
    expect(net.connected('a', 'b')).toBe(false);
  });
});
