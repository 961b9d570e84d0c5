import { describe, expect, it } from 'vitest';
import type { Destination, PeerAddress } from '../../src/engine/ports.js';
import { decodePayload, encodePayload, typeCodeOf } from '../../src/protocol/codec.js';
import type { Message, Relay } from '../../src/protocol/messages.js';
import { RelayForwarder } from '../../src/net/relay.js';
import { pickRelay, RelayPlanner, RelayTransport } from '../../src/net/relay-transport.js';

const at = (peerId: string): PeerAddress => ({ peerId, contact: { host: '', port: 0 } });
const chunk = (peerId: string, bytes: number): Message => ({ type: 'DataChunkResp', peerId, contentId: 'ch', chunkId: 7, timestampMs: 1, signature: new Uint8Array(0), data: new Uint8Array(bytes) });
const relayMsg = (origin: string, target: string, inner: Message): Relay => ({ type: 'Relay', peerId: origin, contentId: '', origin, target, inner });

describe('relay budget (the relay side)', () => {
  function forwarder(maxKbps: number, connected = ['b']) {
    let now = 0;
    const sent: [string, Message][] = [];
    const f = new RelayForwarder({ selfId: 'r', maxKbps, clock: () => now, isConnected: (id) => connected.includes(id), send: (id, m) => { sent.push([id, m]); return true; } });
    return { f, sent, advance: (ms: number) => { now += ms; } };
  }

  it('forwards within budget, refuses past it, and forwards again once the budget refilled', () => {
    // 16 kbit/s = 2000 bytes/s, 2 s burst = 4000 bytes.
    const { f, sent, advance } = forwarder(16);
    expect(f.handle(at('a'), relayMsg('a', 'b', chunk('a', 3000)))).toBeUndefined();
    expect(f.handle(at('a'), relayMsg('a', 'b', chunk('a', 3000)))).toBe('over-budget');
    expect(sent).toHaveLength(1);
    expect(sent[0]![0]).toBe('b');
    expect(sent[0]![1]).toMatchObject({ type: 'Relay', peerId: 'r', origin: 'a', target: 'b' });
    advance(1_500);
    expect(f.handle(at('a'), relayMsg('a', 'b', chunk('a', 3000)))).toBeUndefined();
    const s = f.stats();
    expect(s.relaySessions).toBe(1);
    expect(s.relayRefused).toBe(1);
    expect(s.relayedBytes).toBeGreaterThan(6000);
    expect(s.relayedBytes).toBeLessThanOrEqual(2000 * 1.5 + 4000); // never more than rate × time + burst
  });

  it('over a long run carries no more than its rate allows', () => {
    const { f, advance } = forwarder(80); // 10 000 bytes/s
    for (let i = 0; i < 1000; i++) {
      f.handle(at('a'), relayMsg('a', 'b', chunk('a', 1000)));
      advance(10); // offered: 100 000 bytes/s for 10 s
    }
    expect(f.stats().relayedBytes).toBeLessThanOrEqual(10_000 * 10 + 20_000);
    expect(f.stats().relayRefused).toBeGreaterThan(800);
  });

  it('refuses when relaying is off, the origin is spoofed, or the target is not connected', () => {
    expect(forwarder(0).f.handle(at('a'), relayMsg('a', 'b', chunk('a', 10)))).toBe('relaying-off');
    const { f, sent } = forwarder(100);
    expect(f.handle(at('x'), relayMsg('a', 'b', chunk('a', 10)))).toBe('spoofed-origin');
    expect(f.handle(at('a'), relayMsg('a', 'c', chunk('a', 10)))).toBe('no-connection-to-target');
    expect(f.handle(at('a'), relayMsg('a', 'r', chunk('a', 10)))).toBe('bad-target');
    expect(sent).toHaveLength(0);
    expect(f.stats()).toMatchObject({ relayRefused: 3, relaySessions: 0, relayedBytes: 0 });
  });

  it('rejects a negative budget with the setting named', () => {
    expect(() => forwarder(-1)).toThrow(/net.relayMaxKbps/);
  });
});

/** Three nodes on fake connections: a and b are each connected to r only; every hop goes through the codec. */
function lab() {
  const links = new Set(['a|r', 'r|a', 'b|r', 'r|b']);
  const delivered: { a: [string, Message][]; b: [string, Message][]; r: [string, Message][] } = { a: [], b: [], r: [] };
  const lost: Record<string, string[]> = { a: [], b: [], r: [] };
  const nodes: Record<string, RelayTransport> = {};
  for (const self of ['a', 'b', 'r']) {
    const net = {
      isConnected: (id: string) => links.has(`${self}|${id}`),
      send: (to: Destination, msg: Message) => {
        const id = to.peerId!;
        if (!links.has(`${self}|${id}`)) return false;
        const wire = decodePayload(typeCodeOf(msg), encodePayload(msg));
        const out = nodes[id]!.receive(at(self), wire);
        if (out) delivered[id as 'a']!.push([out.from.peerId, out.msg]);
        return true;
      },
      disconnect: () => undefined,
    };
    nodes[self] = new RelayTransport({ selfId: self, net, relayMaxKbps: 1000, clock: () => 0, onPeerLost: (id) => lost[self]!.push(id) });
  }
  return { nodes, delivered, lost, links };
}

describe('a relayed peer is a virtual connection', () => {
  it('delivers messages both ways, as if the far peer had sent them', () => {
    const { nodes, delivered } = lab();
    const a = nodes.a!;
    const b = nodes.b!;
    expect(a.isConnected('b')).toBe(false);
    a.open('b', 'r');
    expect(a.isConnected('b')).toBe(true);
    expect(a.send({ peerId: 'b', contact: { host: '', port: 0 } }, { type: 'PartnershipReq', peerId: 'a', contentId: 'ch' })).toBe(true);
    expect(delivered.b).toEqual([['a', { type: 'PartnershipReq', peerId: 'a', contentId: 'ch' }]]);
    // b learned the way back from what arrived: its answer and a chunk reach a.
    expect(b.isConnected('a')).toBe(true);
    b.send({ peerId: 'a', contact: { host: '', port: 0 } }, { type: 'PartnershipResp', peerId: 'b', contentId: 'ch', accepted: true, reason: '' });
    b.send({ peerId: 'a', contact: { host: '', port: 0 } }, chunk('b', 500));
    expect(delivered.a.map(([from, m]) => [from, m.type])).toEqual([['b', 'PartnershipResp'], ['b', 'DataChunkResp']]);
    expect((delivered.a[1]![1] as Extract<Message, { type: 'DataChunkResp' }>).data.length).toBe(500);
    expect(delivered.r).toEqual([]); // the relay's engine saw nothing
    expect(a.stats()).toMatchObject({ viaRelay: 2, viaRelayChunks: 1, sentViaRelay: 1, relayedPeers: { b: 'r' } });
    expect(nodes.r!.stats().relaySessions).toBe(2);
  });

  it('an inner message whose sender is not the origin is dropped', () => {
    const { nodes, delivered } = lab();
    nodes.r!.receive(at('a'), relayMsg('a', 'b', { type: 'PartnershipReq', peerId: 'x', contentId: 'ch' }));
    expect(delivered.b).toEqual([]);
  });

  it('the far peer is lost with the relay, and disconnect ends the route', () => {
    const { nodes, lost } = lab();
    nodes.a!.open('b', 'r');
    expect(nodes.a!.connectionLost('r')).toEqual(['b']);
    expect(lost.a).toEqual(['b']);
    expect(nodes.a!.isConnected('b')).toBe(false);
    nodes.a!.open('b', 'r');
    nodes.a!.disconnect('b');
    expect(nodes.a!.isConnected('b')).toBe(false);
  });

  it('pickRelay takes a connected public or mapped member, never the target or a nat one', () => {
    const members = [
      { peerId: 'b', reachability: 'public' as const },
      { peerId: 'n', reachability: 'nat' as const },
      { peerId: 'm', reachability: 'mapped' as const },
      { peerId: 'off', reachability: 'public' as const },
    ];
    const up = (id: string) => id !== 'off';
    expect(pickRelay(members, up, 'b', new Set())).toBe('m');
    expect(pickRelay(members, up, 'b', new Set(['m']))).toBeUndefined();
  });
});

describe('relay planner', () => {
  it('opens a route to a nat member only after a punch to it had 10 s and failed, and only while we are nat', () => {
    const { nodes } = lab();
    const a = nodes.a!;
    let selfNat = true;
    let punched = false;
    const opened: [string, string][] = [];
    const planner = new RelayPlanner({
      transport: a,
      members: () => [{ peerId: 'b', reachability: 'nat' }, { peerId: 'r', reachability: 'public' }],
      isDirect: (id) => id === 'r',
      punched: () => punched,
      selfNat: () => selfNat,
      onOpen: (id, via) => opened.push([id, via]),
    });
    planner.tick(0);
    expect(opened).toEqual([]); // no punch tried yet
    punched = true;
    planner.tick(5_000); // punch noticed
    planner.tick(10_000);
    expect(opened).toEqual([]); // the punch still has time
    planner.tick(15_000);
    expect(opened).toEqual([['b', 'r']]);
    expect(a.isConnected('b')).toBe(true);
    a.disconnect('b');
    selfNat = false;
    planner.tick(20_000);
    expect(opened).toHaveLength(1);
  });
});
