// The simulator's field model (src/sim/sim-network.ts): bounded send queues, loss as TCP
// retransmissions, nodes behind a NAT, partitions, paused processes.
import { describe, expect, it } from 'vitest';
import { SimNetwork, type SimNetworkConfig } from '../../src/sim/sim-network.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { SeededRandom } from '../../src/sim/seeded-random.js';
import type { Message } from '../../src/protocol/messages.js';
import type { PeerAddress, Transport } from '../../src/engine/ports.js';

const chunk = (peerId: string, id: number, bytes: number): Message => ({
  type: 'DataChunkResp',
  peerId,
  contentId: 'c',
  chunkId: id,
  timestampMs: 0,
  signature: new Uint8Array(0),
  data: new Uint8Array(bytes),
});
const keepAlive = (peerId: string): Message => ({ type: 'KeepAlive', peerId, contentId: '' });

function lab(config: Partial<SimNetworkConfig>, links: Record<string, { reachable?: boolean; accessLatencyMs?: number }> = {}) {
  const clock = new VirtualClock(0);
  const net = new SimNetwork(clock, new SeededRandom(7), { minLatencyMs: 10, latencyPerUnitMs: 0, defaultUploadBps: 8000, ...config });
  const log: Record<string, string[]> = {};
  const t: Record<string, Transport> = {};
  for (const id of ['a', 'b', 'c']) {
    log[id] = [];
    const endpoint = {
      receive: (from: PeerAddress, msg: Message) => log[id]?.push(`${clock.now()}:${from.peerId}:${msg.type}`),
      peerDisconnected: (other: string) => log[id]?.push(`${clock.now()}:lost:${other}`),
    };
    t[id] = net.addNode(id, { host: id, port: 1 }, endpoint, links[id] ?? {});
  }
  const to = (id: string) => ({ peerId: id, contact: { host: id, port: 1 } });
  return { clock, net, log: log as Record<string, string[]>, t: t as Record<string, Transport>, to };
}

describe('sim field model', () => {
  it('drops a message that does not fit in the connection send queue, like a full real connection', () => {
    // 1 byte/ms uplink; a 1,000-byte queue per connection.
    const { clock, net, t, log, to } = lab({ connectionQueueBytes: 1000 });
    expect(t.a?.send(to('b'), chunk('a', 1, 600))).toBe(true);
    expect(t.a?.send(to('b'), chunk('a', 2, 600))).toBe(false); // 600 + ~620 > 1,000
    expect(t.a?.send(to('c'), chunk('a', 3, 600))).toBe(true); // another connection has its own queue
    expect(net.stats.queueFull).toBe(1);
    clock.advance(700); // the first one has left the uplink
    expect(t.a?.send(to('b'), chunk('a', 4, 600))).toBe(true);
    clock.advance(5000);
    expect(log.b?.length).toBe(2);
  });

  it('repeats lost transmissions (TCP) instead of losing them: every message arrives, later, upload spent again', () => {
    const { clock, net, t, log, to } = lab({ lossRate: 0.3, retransmitMinMs: 200 });
    for (let i = 0; i < 100; i++) t.a?.send(to('b'), keepAlive('a'));
    clock.advance(60_000);
    expect(log.b?.length).toBe(100);
    expect(net.stats.retransmits).toBeGreaterThan(20);
    expect(net.stats.retransmits).toBeLessThan(80);
    expect(net.bytesUploaded('a')).toBeGreaterThan(net.stats.bytes);
  });

  it('a node behind a NAT cannot be dialled, but the connection it opens carries both ways', () => {
    const { clock, net, t, log, to } = lab({ connectTimeoutMs: 3000 }, { b: { reachable: false } });
    t.a?.send(to('b'), keepAlive('a'));
    clock.advance(3500);
    expect(log.b).toEqual([]);
    expect(log.a?.some((l) => l.endsWith(':lost:b'))).toBe(true);
    expect(net.stats.unreachable).toBe(1);
    t.b?.send(to('a'), keepAlive('b')); // b dials out
    clock.advance(100);
    expect(t.a?.isConnected?.('b')).toBe(true);
    t.a?.send(to('b'), keepAlive('a'));
    clock.advance(100);
    expect(log.b?.filter((l) => l.endsWith(':a:KeepAlive')).length).toBe(1);
  });

  it('a partition loses messages across it and breaks its connections; after heal new ones work', () => {
    const { clock, net, t, log, to } = lab({ detectionDelayMs: 1500 });
    t.a?.send(to('b'), keepAlive('a'));
    clock.advance(100);
    net.partition([['a'], ['b', 'c']]);
    t.a?.send(to('b'), keepAlive('a'));
    t.b?.send(to('c'), keepAlive('b'));
    clock.advance(2000);
    expect(log.b?.filter((l) => l.endsWith(':a:KeepAlive')).length).toBe(1);
    expect(log.b?.some((l) => l.endsWith(':lost:a'))).toBe(true);
    expect(log.a?.some((l) => l.endsWith(':lost:b'))).toBe(true);
    expect(log.c?.filter((l) => l.endsWith(':b:KeepAlive')).length).toBe(1);
    net.heal();
    t.a?.send(to('b'), keepAlive('a'));
    clock.advance(100);
    expect(log.b?.filter((l) => l.endsWith(':a:KeepAlive')).length).toBe(2);
  });

  it('a paused node receives nothing until it resumes, then everything in order', () => {
    const { clock, net, t, log, to } = lab({});
    net.pause('b', 5000);
    expect(net.isPaused('b')).toBe(true);
    for (let i = 0; i < 3; i++) t.a?.send(to('b'), chunk('a', i, 10));
    clock.advance(4000);
    expect(log.b).toEqual([]);
    clock.advance(1001);
    expect(net.isPaused('b')).toBe(false);
    expect(log.b?.map((l) => l.split(':')[0])).toEqual(['5000', '5000', '5000']);
  });

  it('access latency adds to every message to or from the node', () => {
    const { net } = lab({}, { b: { accessLatencyMs: 40 }, c: { accessLatencyMs: 5 } });
    expect(net.latencyMs('a', 'b')).toBe(50);
    expect(net.latencyMs('b', 'c')).toBe(55);
  });
});
