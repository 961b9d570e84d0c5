import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConnectionManager, DEFAULT_NET_LIMITS, type NetLimits, type NetWarning,
} from '../../src/net/connection-manager.js';
import { chooseSurvivors } from '../../src/net/tie-break.js';
import { encodeFrame, FrameDecoder } from '../../src/protocol/framing.js';
import type { Contact, Message } from '../../src/protocol/messages.js';
import { sleep, waitUntil } from '../helpers/wait.js';

interface Node {
  m: ConnectionManager;
  id: string;
  contact: Contact;
  got: { from: string; msg: Message }[];
  warnings: NetWarning[];
  connected: string[];
  disconnected: { peerId: string; reason: string }[];
}

const open: ConnectionManager[] = [];
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(open.splice(0).map((m) => m.close()));
});

async function node(id: string, limits: Partial<NetLimits> = {}, host = '127.0.0.1'): Promise<Node> {
  const n: Omit<Node, 'm' | 'contact'> = { id, got: [], warnings: [], connected: [], disconnected: [] };
  const m = new ConnectionManager({
    self: { peerId: id, contact: { host, port: 0 }, role: 'node' },
    limits: { ...DEFAULT_NET_LIMITS, ...limits },
    onMessage: (from, msg) => n.got.push({ from: from.peerId, msg }),
    onPeerConnected: (p) => n.connected.push(p.peerId),
    onPeerDisconnected: (peerId, reason) => n.disconnected.push({ peerId, reason }),
    onWarning: (w) => n.warnings.push(w),
  });
  open.push(m);
  const contact = await m.listen(host, 0);
  return { ...n, m, contact };
}

function req(from: string, chunkId: number): Message {
  return { type: 'DataChunkReq', peerId: from, contentId: 'ch1', chunkId };
}

function chunkIds(n: Node): number[] {
  return n.got.map((g) => (g.msg.type === 'DataChunkReq' ? g.msg.chunkId : -1)).sort((x, y) => x - y);
}

describe('ConnectionManager', () => {
  it('exchanges messages both ways over one connection', async () => {
    const a = await node('a');
    const b = await node('b');
    for (let i = 0; i < 5; i++) expect(a.m.send({ peerId: 'b', contact: b.contact }, req('a', i))).toBe(true);
    await waitUntil('b to receive 5', () => b.got.length === 5);
    expect(chunkIds(b)).toEqual([0, 1, 2, 3, 4]);
    expect(b.got.every((g) => g.from === 'a')).toBe(true);
    expect(b.m.connectedPeers()).toEqual([{ peerId: 'a', contact: a.contact }]);

    // b answers over the same connection; a Destination without peerId resolves by Hello contact.
    expect(b.m.send({ peerId: 'a', contact: a.contact }, req('b', 10))).toBe(true);
    expect(b.m.send({ contact: a.contact }, req('b', 11))).toBe(true);
    expect(a.m.send({ contact: b.contact }, req('a', 5))).toBe(true);
    await waitUntil('a to receive 2', () => a.got.length === 2);
    await waitUntil('b to receive 6', () => b.got.length === 6);
    expect(chunkIds(a)).toEqual([10, 11]);
    expect(a.m.stats().connections).toBe(1);
    expect(b.m.stats().connections).toBe(1);
    expect(a.connected).toEqual(['b']);
    expect(b.connected).toEqual(['a']);
    expect(a.m.stats().messagesIn).toBeGreaterThanOrEqual(3); // Hello + 2
    expect(a.warnings).toEqual([]);
    expect(b.warnings).toEqual([]);
  });

  it('settles a simultaneous dial on exactly one connection and delivers every message', async () => {
    for (let round = 0; round < 8; round++) {
      const a = await node(`a${round}`);
      const b = await node(`b${round}`);
      const n = 50;
      for (let i = 0; i < n; i++) {
        expect(a.m.send({ peerId: b.id, contact: b.contact }, req(a.id, i))).toBe(true);
        expect(b.m.send({ peerId: a.id, contact: a.contact }, req(b.id, i))).toBe(true);
      }
      await waitUntil('all messages', () => a.got.length === n && b.got.length === n);
      await waitUntil('one connection per side', () => a.m.stats().connections === 1 && b.m.stats().connections === 1);
      expect(chunkIds(a)).toEqual([...Array(n).keys()]);
      expect(chunkIds(b)).toEqual([...Array(n).keys()]);
      // Later traffic uses the survivor, both ways.
      a.m.send({ peerId: b.id, contact: b.contact }, req(a.id, 100));
      b.m.send({ peerId: a.id, contact: a.contact }, req(b.id, 100));
      await waitUntil('post-settle messages', () => a.got.length === n + 1 && b.got.length === n + 1);
      await sleep(20);
      expect(a.m.stats().connections).toBe(1);
      expect(b.m.stats().connections).toBe(1);
      expect(a.connected).toEqual([b.id]);
      expect(b.connected).toEqual([a.id]);
      expect(a.disconnected).toEqual([]); // no event for a tie-break loser
      expect(b.disconnected).toEqual([]);
      expect(a.m.stats().droppedSends + b.m.stats().droppedSends).toBe(0);
      await Promise.all([a.m.close(), b.m.close()]);
    }
  });

  it('holds a peer whose losing connection closes before the winner\'s Hello arrives (handover)', async () => {
    // z (larger id) dialled a; a also dialled z; a retired z's dial before z saw a's Hello on the other.
    const z = await node('z', { helloTimeoutMs: 400 });
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const aContact = { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port };
    const hello = encodeFrame({ type: 'Hello', peerId: 'a', contentId: '', contact: aContact, role: 'node', observed: { host: '', port: 0 } });
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    expect(z.m.send({ peerId: 'a', contact: aContact }, req('z', 1))).toBe(true);
    const loser = await accepted;
    sockets.push(loser);
    loser.on('data', () => undefined);
    loser.write(hello);
    await waitUntil('z connected to a', () => z.connected.length === 1);
    const winner = net.connect(z.contact.port, '127.0.0.1');
    sockets.push(winner);
    const got: Message[] = [];
    const dec = new FrameDecoder({ maxPayloadBytes: 1 << 20 });
    winner.on('data', (d: Buffer) => got.push(...dec.push(d)));
    await new Promise((r) => winner.once('connect', r));
    loser.end(); // the tie-break loser's FIN overtakes the winner's Hello
    await waitUntil('loser gone', () => z.m.stats().connections === 1);
    expect(z.disconnected).toEqual([]);
    expect(z.m.connectedPeers().map((p) => p.peerId)).toEqual(['a']);
    expect(z.m.send({ peerId: 'a', contact: aContact }, req('z', 2))).toBe(true); // held
    winner.write(hello);
    await waitUntil('held message on the winner', () => got.some((m) => m.type === 'DataChunkReq' && m.chunkId === 2));
    expect(z.disconnected).toEqual([]);
    expect(z.connected).toEqual(['a']);

    // A graceful close of the connection a tie-break keeps is reported at once.
    const pending = net.connect(z.contact.port, '127.0.0.1');
    sockets.push(pending);
    pending.on('error', () => undefined);
    await new Promise((r) => pending.once('connect', r));
    winner.end();
    await waitUntil('reported lost', () => z.disconnected.length === 1);
    expect(z.disconnected[0]).toEqual({ peerId: 'a', reason: 'remote-closed' });
    await new Promise((r) => server.close(r));
  });

  it('reports a held peer lost when no winner completes its Hello in time', async () => {
    const z = await node('z', { helloTimeoutMs: 300 });
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const aContact = { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port };
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    z.m.send({ peerId: 'a', contact: aContact }, req('z', 1));
    const loser = await accepted;
    sockets.push(loser);
    loser.on('data', () => undefined);
    loser.write(encodeFrame({ type: 'Hello', peerId: 'a', contentId: '', contact: aContact, role: 'node', observed: { host: '', port: 0 } }));
    await waitUntil('connected', () => z.connected.length === 1);
    const silent = net.connect(z.contact.port, '127.0.0.1');
    sockets.push(silent);
    silent.on('error', () => undefined);
    await new Promise((r) => silent.once('connect', r));
    const t0 = Date.now();
    loser.end();
    await waitUntil('loser gone', () => z.m.stats().connections === 1);
    expect(z.m.send({ peerId: 'a', contact: aContact }, req('z', 2))).toBe(true); // held
    expect(z.disconnected).toEqual([]);
    await waitUntil('reported lost', () => z.disconnected.length === 1, 3_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(z.disconnected[0]).toEqual({ peerId: 'a', reason: 'remote-closed' });
    expect(z.m.stats().droppedSends).toBe(1);
    await new Promise((r) => server.close(r));
  });

  it('disconnect() closes the connection on both sides', async () => {
    const a = await node('a');
    const b = await node('b');
    a.m.send({ peerId: 'b', contact: b.contact }, req('a', 1));
    await waitUntil('connected', () => b.got.length === 1 && a.connected.length === 1);
    a.m.disconnect('b');
    expect(a.disconnected).toEqual([{ peerId: 'b', reason: 'local-disconnect' }]);
    await waitUntil('b sees it', () => b.disconnected.length === 1);
    expect(b.disconnected[0]).toEqual({ peerId: 'a', reason: 'remote-closed' });
    await waitUntil('sockets gone', () => a.m.stats().connections === 0 && b.m.stats().connections === 0);
    expect(a.m.connectedPeers()).toEqual([]);
    // A later send dials again.
    expect(a.m.send({ peerId: 'b', contact: b.contact }, req('a', 2))).toBe(true);
    await waitUntil('reconnected', () => b.got.length === 2);
    expect(b.connected).toEqual(['a', 'a']);
  });

  it('keep-alives keep an idle pair alive past idleTimeout', async () => {
    const limits = { keepAliveMs: 50, idleTimeoutMs: 400 };
    const a = await node('a', limits);
    const b = await node('b', limits);
    a.m.send({ peerId: 'b', contact: b.contact }, req('a', 1));
    await waitUntil('connected', () => b.got.length === 1);
    await sleep(1_000); // 2.5 × idleTimeoutMs
    expect(a.disconnected).toEqual([]);
    expect(b.disconnected).toEqual([]);
    expect(a.m.stats().connections).toBe(1);
    expect(b.got.length).toBe(1); // KeepAlive is not passed to the engine
    expect(a.m.stats().messagesOut).toBeGreaterThan(5);
  });

  it('closes a peer that stops talking (idle) and one whose socket dies', async () => {
    const a = await node('a', { keepAliveMs: 50, idleTimeoutMs: 300 });
    const hello = (id: string) => encodeFrame({ type: 'Hello', peerId: id, contentId: '', contact: { host: '127.0.0.1', port: 1 }, role: 'node', observed: { host: '', port: 0 } });
    const raw = async (id: string) => {
      const s = net.connect(a.contact.port, '127.0.0.1');
      sockets.push(s);
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      await new Promise((r) => s.once('connect', r));
      s.write(hello(id));
      return s;
    };
    await raw('quiet');
    const killed = await raw('killed');
    const reset = await raw('reset');
    await waitUntil('three peers', () => a.connected.length === 3);
    killed.destroy();
    reset.resetAndDestroy();
    await waitUntil('killed and reset seen', () => a.disconnected.length >= 2);
    const reasons = Object.fromEntries(a.disconnected.map((d) => [d.peerId, d.reason]));
    expect(reasons['killed']).toBe('remote-closed');
    expect(reasons['reset']).toMatch(/^error:ECONNRESET|remote-closed/);
    await waitUntil('idle close', () => a.disconnected.some((d) => d.peerId === 'quiet'));
    expect(a.disconnected.find((d) => d.peerId === 'quiet')?.reason).toBe('idle');
    expect(a.m.stats().idleClosed).toBe(1);
    await waitUntil('no sockets', () => a.m.stats().connections === 0);
  });

  it('enforces the connection limit both ways', async () => {
    const a = await node('a', { maxConnections: 1 });
    const b = await node('b');
    const c = await node('c');
    expect(a.m.send({ peerId: 'b', contact: b.contact }, req('a', 1))).toBe(true);
    expect(a.m.send({ peerId: 'c', contact: c.contact }, req('a', 1))).toBe(false);
    await waitUntil('b got it', () => b.got.length === 1);
    expect(c.m.send({ peerId: 'a', contact: a.contact }, req('c', 1))).toBe(true); // queued, then refused
    await waitUntil('refused', () => a.m.stats().refused === 1);
    await waitUntil('c gave up', () => c.m.stats().connections === 0);
    expect(c.m.stats().droppedSends).toBe(1);
    expect(a.warnings.map((w) => w.code)).toEqual(expect.arrayContaining(['connection-limit', 'connection-refused']));
    expect(c.warnings.map((w) => w.code)).toContain('connect-failed');
    expect(a.got).toEqual([]);
  });

  it('closes a connection to itself and reports unreachable peers', async () => {
    const a = await node('a', {}, '0.0.0.0');
    expect(a.m.send({ contact: { host: '127.0.0.1', port: a.contact.port } }, req('a', 1))).toBe(true);
    await waitUntil('self-connection warning', () => a.warnings.some((w) => w.code === 'self-connection'));
    await waitUntil('closed', () => a.m.stats().connections === 0);
    expect(a.connected).toEqual([]);
    expect(a.m.send({ peerId: 'a', contact: a.contact }, req('a', 1))).toBe(false);

    const dead = net.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as net.AddressInfo).port;
    await new Promise((r) => dead.close(r));
    expect(a.m.send({ peerId: 'x', contact: { host: '127.0.0.1', port } }, req('a', 2))).toBe(true);
    await waitUntil('connect failure', () => a.warnings.some((w) => w.code === 'connect-failed'));
    expect(a.disconnected).toEqual([]);
  });

  it('close() releases everything and reports every peer once', async () => {
    const a = await node('a');
    const b = await node('b');
    a.m.send({ peerId: 'b', contact: b.contact }, req('a', 1));
    await waitUntil('connected', () => b.got.length === 1);
    await a.m.close();
    expect(a.disconnected).toEqual([{ peerId: 'b', reason: 'shutdown' }]);
    expect(a.m.stats().connections).toBe(0);
    expect(a.m.send({ peerId: 'b', contact: b.contact }, req('a', 2))).toBe(false);
    await waitUntil('b notices', () => b.disconnected.length === 1);
    await a.m.close(); // idempotent
  });
});

describe('chooseSurvivors', () => {
  const c = (initiator: string, order: number) => ({ initiator, order });
  it('keeps the connection initiated by the smaller id, on both ends', () => {
    const onA = chooseSurvivors('a', 'b', [c('b', 1), c('a', 2)]);
    expect(onA.keep).toEqual([c('a', 2)]);
    const onB = chooseSurvivors('b', 'a', [c('b', 5), c('a', 7)]);
    expect(onB.keep).toEqual([c('a', 7)]);
    expect(onB.retire).toEqual([c('b', 5)]);
  });
  it('lets only the initiator prune same-initiator duplicates', () => {
    expect(chooseSurvivors('a', 'b', [c('a', 3), c('a', 1)])).toEqual({ keep: [c('a', 1)], retire: [c('a', 3)] });
    expect(chooseSurvivors('b', 'a', [c('a', 3), c('a', 1)])).toEqual({ keep: [c('a', 1), c('a', 3)], retire: [] });
  });
});
