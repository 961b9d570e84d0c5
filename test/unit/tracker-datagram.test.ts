import { describe, expect, it } from 'vitest';
import { TrackerEngine } from '../../src/tracker/tracker-engine.js';
import { createHmac } from 'node:crypto';
import { DatagramFront, HmacKey } from '../../src/tracker/datagram-front.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import type { Contact, Message, MessageOf } from '../../src/protocol/messages.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { TRACKER_DATAGRAM_MAX_BYTES, decodeTrackerDatagram, encodeTrackerDatagram, type TrackerDatagram } from '../../src/protocol/tracker-datagram.js';
import { SeededRandom } from '../../src/sim/seeded-random.js';
import { ManualClock, RecordingTransport, contactOf } from '../helpers/engine-fakes.js';

const ZERO = new Uint8Array(8);

function joinMsg(peerId: string, contentId = 'c1'): MessageOf<'TrackerJoin'> {
  return { type: 'TrackerJoin', peerId, contentId, contact: contactOf(peerId), kind: 'live', title: '', allowRedirect: false, ticket: new Uint8Array(0) };
}

function membershipMsg(peerId: string, contents = ['c1']): MessageOf<'Membership'> {
  return { type: 'Membership', peerId, contentId: '', activeContents: contents, seq: 1, contact: contactOf(peerId), ttlMs: 10_000, partnerCount: 1, reachability: 'public' };
}

function setup() {
  const clock = new ManualClock(1_000_000);
  const t = new TrackerEngine({
    self: { peerId: 'tracker', contact: { host: 'tracker.test', port: 7000 }, role: 'tracker' },
    clock,
    random: new SeededRandom(1),
    transport: new RecordingTransport(),
    config: { ...DEFAULT_ENGINE_CONFIG, membersReqMax: 64 },
    registryOnly: true,
  });
  const sent: Array<{ to: Contact; d: TrackerDatagram; bytes: number }> = [];
  const front = new DatagramFront({ tracker: t, now: () => clock.now(), secret: new Uint8Array(32).fill(7), send: (to, buf) => sent.push({ to, d: decodeTrackerDatagram(buf), bytes: buf.length }) });
  const connect = (from: Contact): Uint8Array => {
    front.receive(encodeTrackerDatagram({ action: 'connect', transactionId: 1, connectionId: ZERO, messages: [] }), from);
    const answer = sent.pop();
    expect(answer?.d.action).toBe('connected');
    return answer!.d.connectionId;
  };
  const announce = (from: Contact, id: Uint8Array, messages: Message[], transactionId = 9) =>
    front.receive(encodeTrackerDatagram({ action: 'announce', transactionId, connectionId: id, messages }), from);
  return { t, clock, front, sent, connect, announce };
}

describe('tracker datagram codec', () => {
  it('round-trips a connect and an announce carrying codec messages', () => {
    const d: TrackerDatagram = { action: 'announce', transactionId: 0xdeadbeef, connectionId: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), messages: [joinMsg('a'), membershipMsg('a')] };
    const back = decodeTrackerDatagram(encodeTrackerDatagram(d));
    expect(back.transactionId).toBe(0xdeadbeef);
    expect([...back.connectionId]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(back.messages.map((m) => m.type)).toEqual(['TrackerJoin', 'Membership']);
    expect((back.messages[0] as MessageOf<'TrackerJoin'>).contact).toEqual(contactOf('a'));
  });

  it('refuses truncated, trailing, foreign and misplaced datagrams with a ProtocolError naming the field', () => {
    const good = encodeTrackerDatagram({ action: 'announce', transactionId: 1, connectionId: ZERO, messages: [joinMsg('a')] });
    expect(() => decodeTrackerDatagram(good.subarray(0, good.length - 2))).toThrow(/TrackerDatagram.messages\[0\]/);
    expect(() => decodeTrackerDatagram(Buffer.concat([good, Buffer.from([0])]))).toThrow(/unexpected bytes after the last field/);
    expect(() => decodeTrackerDatagram(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toThrow(ProtocolError);
    // An answer-only message in an announce, and a connect carrying messages.
    const bad = Buffer.from(good);
    bad[5] = 3; // 'answer' carrying a TrackerJoin
    expect(() => decodeTrackerDatagram(bad)).toThrow(/cannot travel in a answer datagram/);
    expect(() => decodeTrackerDatagram(Buffer.alloc(TRACKER_DATAGRAM_MAX_BYTES + 1))).toThrow(/exceeds limit/);
  });
});

describe('tracker datagram front', () => {
  it('answers a join that carries the connection id handed to its source, with a subset that fits one datagram', () => {
    const s = setup();
    // Long peer ids: the tracker's 16 members would not fit one datagram, the answer is cut.
    const id = (i: number) => `p${i}-${'x'.repeat(60)}`;
    for (let i = 0; i < 100; i++) {
      const from = { host: '127.0.0.1', port: 20_000 + i };
      s.announce(from, s.connect(from), [joinMsg(id(i)), membershipMsg(id(i))], i);
    }
    const last = s.sent.at(-1)!;
    expect(last.to).toEqual({ host: '127.0.0.1', port: 20_099 });
    expect(last.d.action).toBe('answer');
    expect(last.d.transactionId).toBe(99);
    const m = last.d.messages[0] as MessageOf<'TrackerMembers'>;
    expect(m.type).toBe('TrackerMembers');
    expect(m.members.length).toBeGreaterThanOrEqual(6);
    expect(m.members.length).toBeLessThan(16);
    expect(m.members.some((x) => x.peerId === id(99))).toBe(false);
    expect(last.bytes).toBeLessThanOrEqual(TRACKER_DATAGRAM_MAX_BYTES);
    expect(s.front.stats().trimmedAnswers).toBeGreaterThan(0);
    expect(s.t.registry.memberCount('c1')).toBe(100);
  });

  it('drops and counts an announce whose id was handed to another address, and garbage', () => {
    const s = setup();
    const id = s.connect({ host: '10.0.0.1', port: 5000 });
    s.announce({ host: '10.0.0.2', port: 5000 }, id, [joinMsg('mallory')]);
    s.announce({ host: '10.0.0.1', port: 5001 }, id, [joinMsg('mallory')]);
    s.front.receive(Buffer.from('not a datagram'), { host: '10.0.0.1', port: 5000 });
    expect(s.sent).toHaveLength(0);
    expect(s.t.registry.memberCount('c1')).toBe(0);
    expect(s.front.stats()).toMatchObject({ spoofed: 2, malformed: 1, answers: 0 });
    s.announce({ host: '10.0.0.1', port: 5000 }, id, [joinMsg('alice')]);
    expect(s.sent).toHaveLength(1);
    expect(s.t.registry.memberCount('c1')).toBe(1);
  });

  it('accepts an id for one to two key periods, then drops it', () => {
    const s = setup();
    const from = { host: '10.0.0.1', port: 5000 };
    s.clock.t = 120_000; // the start of a key period
    const id = s.connect(from);
    s.clock.t = 120_000 + 119_000;
    expect(s.front.validId(from, id)).toBe(true);
    s.clock.t = 120_000 + 120_000;
    expect(s.front.validId(from, id)).toBe(false);
    s.announce(from, id, [joinMsg('late')]);
    expect(s.front.stats().spoofed).toBe(1);
  });
});

describe('HmacKey', () => {
  it('gives the bytes of createHmac for short and long inputs and keys', () => {
    for (const key of [Buffer.alloc(32, 9), Buffer.alloc(100, 3)]) {
      const k = new HmacKey(key);
      for (const text of ['127.0.0.1|5000', '[2001:db8::1]|65535', 'x'.repeat(300), '']) {
        expect(k.mac(text).equals(createHmac('sha256', key).update(text).digest())).toBe(true);
      }
    }
  });
});
