// Raw sockets misbehaving against a ConnectionManager that also serves a well-behaved peer: every
// case must end in warnings and counters, never an exception, and the good peer keeps being served.
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionManager, DEFAULT_NET_LIMITS, type NetLimits, type NetWarning } from '../../src/net/connection-manager.js';
import { encodeFrame, FRAME_MARKER, PROTOCOL_VERSION } from '../../src/protocol/framing.js';
import type { Contact, Message } from '../../src/protocol/messages.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const MIB = 1024 * 1024;
const LIMITS: NetLimits = {
  ...DEFAULT_NET_LIMITS,
  maxQueueBytes: 2 * MIB,
  maxPayloadBytes: 1 * MIB,
  keepAliveMs: 100,
  idleTimeoutMs: 5_000,
  helloTimeoutMs: 300,
  slowPeerTimeoutMs: 1_000,
};

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

const req = (from: string, chunkId: number): Message => ({ type: 'DataChunkReq', peerId: from, contentId: 'ch1', chunkId });
const hello = (id: string): Buffer =>
  encodeFrame({ type: 'Hello', peerId: id, contentId: '', contact: { host: '127.0.0.1', port: 9 }, role: 'node', observed: { host: '', port: 0 } });

/** Rewrites a frame's CRC after its bytes were changed, so only the intended fault remains. */
function fixCrc(frame: Buffer): Buffer {
  const end = frame.length - 4;
  frame.writeUInt32BE(crc32(frame.subarray(4, end)), end);
  return frame;
}

/** Random bytes that contain no start-marker byte, so no false frame can begin inside them. */
function garbage(n: number): Buffer {
  const b = randomBytes(n);
  for (let i = 0; i < b.length; i++) if (b[i] === FRAME_MARKER[0]) b[i] = 0;
  return b;
}

let m: ConnectionManager;
let good: ConnectionManager;
let mContact: Contact;
let goodContact: Contact;
let warnings: NetWarning[];
let got: { from: string; msg: Message }[];
let goodGot: Message[];
let disconnected: { peerId: string; reason: string }[];
let seq = 0;
const raws: net.Socket[] = [];

beforeEach(async () => {
  warnings = [];
  got = [];
  goodGot = [];
  disconnected = [];
  m = new ConnectionManager({
    self: { peerId: 'm', contact: { host: '127.0.0.1', port: 0 }, role: 'node' },
    limits: LIMITS,
    onMessage: (from, msg) => got.push({ from: from.peerId, msg }),
    onPeerDisconnected: (peerId, reason) => disconnected.push({ peerId, reason }),
    onWarning: (w) => warnings.push(w),
  });
  mContact = await m.listen('127.0.0.1', 0);
  good = new ConnectionManager({
    self: { peerId: 'good', contact: { host: '127.0.0.1', port: 0 }, role: 'node' },
    limits: LIMITS,
    onMessage: (_from, msg) => goodGot.push(msg),
  });
  goodContact = await good.listen('127.0.0.1', 0);
  await goodPeerWorks();
});

afterEach(async () => {
  for (const s of raws.splice(0)) s.destroy();
  await Promise.all([m.close(), good.close()]);
});

/** Messages still flow both ways between m and the well-behaved peer. */
async function goodPeerWorks(): Promise<void> {
  const id = ++seq;
  expect(good.send({ peerId: 'm', contact: mContact }, req('good', id))).toBe(true);
  expect(m.send({ peerId: 'good', contact: goodContact }, req('m', id))).toBe(true);
  await waitUntil('good peer traffic', () =>
    got.some((g) => g.from === 'good' && g.msg.type === 'DataChunkReq' && g.msg.chunkId === id)
    && goodGot.some((x) => x.type === 'DataChunkReq' && x.chunkId === id));
  expect(m.connectedPeers().some((p) => p.peerId === 'good')).toBe(true);
}

async function raw(): Promise<{ s: net.Socket; closed: Promise<void> }> {
  const s = net.connect(mContact.port, '127.0.0.1');
  raws.push(s);
  s.on('error', () => undefined);
  s.on('data', () => undefined); // read (and discard) what m sends, so 'end'/'close' are seen
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  await new Promise((r) => s.once('connect', r));
  return { s, closed };
}

const fromRaw = (id: number) => got.some((g) => g.from === 'raw' && g.msg.type === 'DataChunkReq' && g.msg.chunkId === id);
const codes = () => warnings.map((w) => w.code);

describe('hostile peers', () => {
  it('random bytes: warned, counted, resynced; the connection survives', async () => {
    const { s } = await raw();
    s.write(hello('raw'));
    s.write(garbage(64 * 1024));
    s.write(encodeFrame(req('raw', 1)));
    await waitUntil('message after garbage', () => fromRaw(1));
    expect(codes()).toContain('frame-error');
    const st = m.stats();
    expect(st.frameErrors).toBeGreaterThanOrEqual(1);
    expect(st.bytesSkipped).toBeGreaterThanOrEqual(64 * 1024);
    expect(m.connectedPeers().map((p) => p.peerId)).toContain('raw');
    await goodPeerWorks();
  });

  it('a header declaring an oversized length is rejected before allocating', async () => {
    const { s } = await raw();
    s.write(hello('raw'));
    const header = Buffer.alloc(10);
    FRAME_MARKER.copy(header, 0);
    header.writeUInt8(PROTOCOL_VERSION, 4);
    header.writeUInt8(11, 5);
    header.writeUInt32BE(0xffff_fff0, 6);
    s.write(Buffer.concat([header, garbage(100), encodeFrame(req('raw', 2))]));
    await waitUntil('message after oversized header', () => fromRaw(2));
    expect(m.stats().oversized).toBe(1);
    expect(warnings.some((w) => w.code === 'frame-error' && /oversized/.test(w.message))).toBe(true);
    await goodPeerWorks();
  });

  it('wrong version frames are skipped', async () => {
    const { s } = await raw();
    s.write(hello('raw'));
    const bad = fixCrc(encodeFrame(req('raw', 99)));
    bad.writeUInt8(7, 4);
    s.write(Buffer.concat([bad, encodeFrame(req('raw', 3))]));
    await waitUntil('message after bad version', () => fromRaw(3));
    expect(fromRaw(99)).toBe(false);
    expect(m.stats().badVersion).toBe(1);
    expect(codes()).toContain('frame-error');
    await goodPeerWorks();
  });

  it('truncated frames: the CRC fails and the following frames are recovered', async () => {
    const { s } = await raw();
    s.write(hello('raw'));
    const big = encodeFrame({ type: 'DataChunkResp', peerId: 'raw', contentId: 'ch1', chunkId: 1, timestampMs: 0, signature: new Uint8Array(0), data: new Uint8Array(2000) });
    s.write(big.subarray(0, 700));
    for (let i = 100; i < 200; i++) s.write(encodeFrame(req('raw', i)));
    await waitUntil('all frames after the truncated one', () => got.filter((g) => g.from === 'raw').length === 100);
    expect(m.stats().crcErrors).toBeGreaterThanOrEqual(1);
    expect(codes()).toContain('frame-error');
    // A frame cut off by the end of the connection just disappears.
    s.end(big.subarray(0, 50));
    await waitUntil('raw gone', () => disconnected.some((d) => d.peerId === 'raw'));
    await goodPeerWorks();
  });

  it('unknown type codes with a valid CRC are skipped', async () => {
    const { s } = await raw();
    s.write(hello('raw'));
    const odd = encodeFrame(req('raw', 98));
    odd.writeUInt8(200, 5);
    s.write(Buffer.concat([fixCrc(odd), encodeFrame(req('raw', 4))]));
    await waitUntil('message after unknown type', () => fromRaw(4));
    expect(m.stats().unknownType).toBe(1);
    expect(m.stats().crcErrors).toBe(0);
    await goodPeerWorks();
  });

  it('a message whose peer id differs from the Hello is dropped as spoofed', async () => {
    const { s } = await raw();
    s.write(hello('raw'));
    s.write(encodeFrame(req('good', 5)));
    s.write(encodeFrame(req('good', 6)));
    s.write(encodeFrame({ type: 'Hello', peerId: 'other', contentId: '', contact: { host: '127.0.0.1', port: 9 }, role: 'node', observed: { host: '', port: 0 } }));
    s.write(encodeFrame(req('raw', 7)));
    await waitUntil('genuine message', () => fromRaw(7));
    expect(got.some((g) => g.msg.type === 'DataChunkReq' && (g.msg.chunkId === 5 || g.msg.chunkId === 6))).toBe(false);
    expect(m.stats().spoofed).toBe(3);
    expect(codes().filter((c) => c === 'spoofed')).toHaveLength(1); // rate-limited per connection
    expect(m.connectedPeers().map((p) => p.peerId).sort()).toEqual(['good', 'raw']);
    await goodPeerWorks();
  });

  it('no Hello at all: nothing delivered, closed after helloTimeoutMs', async () => {
    const silent = await raw();
    const talker = await raw();
    talker.s.write(encodeFrame(req('raw', 8)));
    talker.s.write(garbage(1000));
    await within(Promise.all([silent.closed, talker.closed]), 3_000);
    expect(fromRaw(8)).toBe(false);
    const st = m.stats();
    expect(st.helloTimeouts).toBe(2);
    expect(st.preHelloDropped).toBe(1);
    expect(codes()).toEqual(expect.arrayContaining(['hello-timeout', 'message-before-hello']));
    expect(disconnected).toEqual([]); // never a peer
    await goodPeerWorks();
  });

  it('a flood of garbage frames closes the connection as hostile', async () => {
    const { s, closed } = await raw();
    s.write(hello('raw'));
    const bad = fixCrc(encodeFrame(req('raw', 1)));
    bad.writeUInt8(9, 4);
    s.write(Buffer.concat(Array.from({ length: 1_100 }, () => bad)));
    await within(closed, 3_000);
    expect(m.stats().hostileClosed).toBe(1);
    expect(disconnected).toContainEqual({ peerId: 'raw', reason: 'hostile' });
    expect(warnings.filter((w) => w.code === 'frame-error').length).toBeLessThanOrEqual(2); // first + summary
    await goodPeerWorks();
  });

  it('a peer that never reads: queue bounded, sends refused, closed as slow', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { s } = await raw();
    s.write(hello('raw'));
    s.pause(); // never reads (so it never sees m's close either: watch m's side)
    await waitUntil('raw is a peer', () => m.connectedPeers().some((p) => p.peerId === 'raw'));
    gc();
    const before = process.memoryUsage();
    const data = new Uint8Array(64 * 1024);
    let accepted = 0;
    let refused = 0;
    let maxQueued = 0;
    const dest = { peerId: 'raw', contact: { host: '127.0.0.1', port: 9 } };
    for (let i = 0; i < 1600 && disconnected.length === 0; i++) { // up to 100 MiB, while raw is connected
      const ok = m.send(dest, { type: 'DataChunkResp', peerId: 'm', contentId: 'ch1', chunkId: i, timestampMs: 0, signature: new Uint8Array(0), data });
      if (ok) accepted++; else refused++;
      maxQueued = Math.max(maxQueued, m.stats().queuedBytes);
      if (i % 64 === 0) await new Promise((r) => setImmediate(r));
    }
    // Backing stores of dropped frames are freed by a concurrent sweeper: let it finish.
    let grown = Infinity;
    for (let i = 0; i < 5 && grown >= LIMITS.maxQueueBytes + 16 * MIB; i++) {
      gc();
      await sleep(50);
      const after = process.memoryUsage();
      grown = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
    }
    expect(refused).toBeGreaterThan(0);
    expect(accepted + refused).toBeGreaterThan(200);
    expect(maxQueued).toBeLessThanOrEqual(LIMITS.maxQueueBytes);
    // What was accepted fits the queue plus the kernel's socket buffers, far from 100 MiB.
    expect(accepted * 64 * 1024).toBeLessThan(LIMITS.maxQueueBytes + 48 * MIB);
    expect(grown).toBeLessThan(LIMITS.maxQueueBytes + 16 * MIB);
    await goodPeerWorks(); // served while the slow peer's queue is full
    await waitUntil('slow peer closed', () => disconnected.length > 0, 3_000);
    expect(disconnected).toContainEqual({ peerId: 'raw', reason: 'slow-peer' });
    const st = m.stats();
    expect(st.slowPeersClosed).toBe(1);
    expect(st.droppedSends).toBe(refused);
    expect(codes()).toEqual(expect.arrayContaining(['queue-full', 'slow-peer']));
    expect(m.connectedPeers().map((p) => p.peerId)).toEqual(['good']);
    await goodPeerWorks();
  });
});
