import * as dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeLanDatagram, encodeLanDatagram, LAN_MAX_DATAGRAM_BYTES, LanAnnouncer, LanDiscovery, LanDiscoveryError,
  type LanDatagram, type LanWarning,
} from '../../src/net/udp-announce.js';

const announce: LanDatagram = { kind: 'announce', role: 'main', peerId: 'tracker-1', trackerPort: 7070, contentIds: ['ch1', 'file:abc'] };
const query: LanDatagram = { kind: 'query', role: 'node', peerId: 'node-9', trackerPort: 0, contentIds: [] };

function reason(buf: Buffer): string {
  const r = decodeLanDatagram(buf);
  if (r.ok) throw new Error('expected a refusal');
  return r.reason;
}

describe('LAN datagram codec', () => {
  it('round-trips announces and queries', () => {
    for (const d of [announce, query, { ...announce, contentIds: [], peerId: 'ü-ñ' }]) {
      expect(decodeLanDatagram(encodeLanDatagram(d))).toEqual({ ok: true, datagram: d });
    }
    expect(encodeLanDatagram(announce).subarray(0, 4).toString('latin1')).toBe('SDLA');
  });

  it('refuses malformed datagrams with a clear reason', () => {
    const good = encodeLanDatagram(announce);
    const mut = (f: (b: Buffer) => void) => { const b = Buffer.from(good); f(b); return b; };
    expect(reason(good.subarray(0, 5))).toMatch(/shorter than the 8-byte header/);
    expect(reason(mut((b) => b.write('XXXX', 0, 'latin1')))).toMatch(/bad magic/);
    expect(reason(mut((b) => b.writeUInt8(9, 4)))).toMatch(/unsupported version 9/);
    expect(reason(mut((b) => b.writeUInt8(7, 5)))).toMatch(/unknown kind 7/);
    expect(reason(mut((b) => b.writeUInt16BE(0, 6)))).toMatch(/announce with tracker port 0/);
    expect(reason(mut((b) => b.writeUInt8(2, 5)))).toMatch(/query with non-zero tracker port 7070/);
    expect(reason(good.subarray(0, good.length - 2))).toMatch(/truncated in contentIds\[1\]/);
    expect(reason(good.subarray(0, 9))).toMatch(/truncated in role/);
    expect(reason(Buffer.concat([good, Buffer.from([0])]))).toMatch(/1 trailing bytes/);
    expect(reason(mut((b) => b.writeUInt8(0, 8)))).toMatch(/role: length 0/);
    expect(reason(mut((b) => b.writeUInt8(0xff, 9 + 4 + 1)))).toMatch(/invalid UTF-8|truncated/);
    const countAt = 8 + 1 + 4 + 1 + 9;
    expect(reason(mut((b) => b.writeUInt8(200, countAt)))).toMatch(/content id count 200 exceeds limit 32/);
    const badUtf8 = encodeLanDatagram({ ...announce, peerId: 'ab' });
    badUtf8.writeUInt8(0xc3, 8 + 1 + 4 + 1); // lone lead byte
    expect(reason(badUtf8)).toMatch(/peerId: invalid UTF-8/);
    expect(reason(Buffer.alloc(LAN_MAX_DATAGRAM_BYTES + 1))).toMatch(/exceeds limit 1200/);
  });

  it('refuses to encode what it could not decode', () => {
    expect(() => encodeLanDatagram({ ...announce, role: '' })).toThrow(/role: 0 bytes/);
    expect(() => encodeLanDatagram({ ...announce, trackerPort: 0 })).toThrow(/trackerPort/);
    expect(() => encodeLanDatagram({ ...query, trackerPort: 5 })).toThrow(/trackerPort/);
    expect(() => encodeLanDatagram({ ...announce, peerId: 'x'.repeat(256) })).toThrow(/peerId: 256 bytes/);
    expect(() => encodeLanDatagram({ ...announce, contentIds: Array(33).fill('c') })).toThrow(/33 ids exceed limit 32/);
    expect(() => encodeLanDatagram({ ...announce, contentIds: Array(10).fill('c'.repeat(200)) })).toThrow(/exceeds limit 1200/);
  });
});

describe('LanAnnouncer + LanDiscovery on 127.0.0.1', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((s) => s()));
  });

  async function startAnnouncer(extra: Partial<ConstructorParameters<typeof LanAnnouncer>[0]> = {}) {
    const warnings: LanWarning[] = [];
    const a = new LanAnnouncer({
      peerId: 'tracker-1', role: 'main', trackerPort: 7070, contentIds: () => ['ch1'],
      bind: { host: '127.0.0.1', port: 0 }, targets: [], intervalMs: 50, onWarning: (w) => warnings.push(w), ...extra,
    });
    const bound = await a.start();
    stops.push(() => a.stop());
    return { a, bound, warnings };
  }

  async function freePort(): Promise<number> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    const port = s.address().port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }

  it('a query is answered by unicast', async () => {
    const { a, bound } = await startAnnouncer();
    const d = new LanDiscovery({ peerId: 'node-9', bind: { host: '127.0.0.1', port: 0 }, targets: [bound] });
    const found = await d.discover(2_000);
    expect(found).toEqual({ peerId: 'tracker-1', role: 'main', contact: { host: '127.0.0.1', port: 7070 }, contentIds: ['ch1'] });
    await new Promise((r) => setTimeout(r, 20));
    expect(a.stats.queriesAnswered).toBeGreaterThanOrEqual(1);
  });

  it('periodic announces reach a listener without a query', async () => {
    const port = await freePort();
    await startAnnouncer({ targets: [{ host: '127.0.0.1', port }] });
    const d = new LanDiscovery({ peerId: 'node-9', bind: { host: '127.0.0.1', port }, targets: [] });
    const found = await d.discover(2_000);
    expect(found.peerId).toBe('tracker-1');
    expect(found.contact.port).toBe(7070);
  });

  it('times out with a clear error when nobody answers or nothing matches', async () => {
    const silent = await freePort();
    const d = new LanDiscovery({ peerId: 'n', bind: { host: '127.0.0.1', port: 0 }, targets: [{ host: '127.0.0.1', port: silent }], queryIntervalMs: 50 });
    await expect(d.discover(300)).rejects.toThrow(/no tracker answered within 300 ms \(queried 127\.0\.0\.1:\d+\)/);
    const { bound } = await startAnnouncer();
    const wrongRole = new LanDiscovery({ peerId: 'n', bind: { host: '127.0.0.1', port: 0 }, targets: [bound], roles: ['tracker'] });
    await expect(wrongRole.discover(300)).rejects.toBeInstanceOf(LanDiscoveryError);
    const wrongContent = new LanDiscovery({ peerId: 'n', bind: { host: '127.0.0.1', port: 0 }, targets: [bound], contentIds: ['other'] });
    await expect(wrongContent.discover(300)).rejects.toThrow(/no tracker answered/);
    const rightContent = new LanDiscovery({ peerId: 'n', bind: { host: '127.0.0.1', port: 0 }, targets: [bound], contentIds: ['other', 'ch1'], roles: ['main'] });
    await expect(rightContent.discover(2_000)).resolves.toMatchObject({ peerId: 'tracker-1' });
  });

  it('close() stops a running discovery', async () => {
    const d = new LanDiscovery({ peerId: 'n', bind: { host: '127.0.0.1', port: 0 }, targets: [] });
    const p = d.discover(10_000);
    setTimeout(() => void d.close(), 50);
    await expect(p).rejects.toThrow(/discovery closed/);
  });

  it('the announcer refuses malformed datagrams and keeps answering', async () => {
    const { a, bound, warnings } = await startAnnouncer();
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    await new Promise<void>((r) => s.send(Buffer.from('hello there'), bound.port, bound.host, () => r()));
    const d = new LanDiscovery({ peerId: 'node-9', bind: { host: '127.0.0.1', port: 0 }, targets: [bound] });
    await expect(d.discover(2_000)).resolves.toMatchObject({ peerId: 'tracker-1' });
    await new Promise<void>((r) => s.close(() => r()));
    expect(a.stats.malformed).toBe(1);
    expect(warnings).toContainEqual({ code: 'malformed-datagram', message: expect.stringMatching(/bad magic/) as unknown as string });
  });

  it('rejects bad configuration at construction', () => {
    expect(() => new LanAnnouncer({ peerId: '', role: 'main', trackerPort: 1, targets: [] })).toThrow(/peerId/);
    expect(() => new LanAnnouncer({ peerId: 't', role: 'main', trackerPort: 70000, targets: [] })).toThrow(/trackerPort/);
  });
});
