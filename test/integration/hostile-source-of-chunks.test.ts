// A hostile peer joins a live swarm and serves forged or corrupted chunks: half of what it sends has
// altered media bytes, the other half is re-signed with a key that is not the channel's. Zero bad
// bytes may reach any recording, and the liar must be dropped by the nodes it lied to.
import { generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseHostPort } from '../../src/config/address.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import { LiveChannels } from '../../src/engine/live-channels.js';
import { DEFAULT_LIVE_CONFIG } from '../../src/engine/live-config.js';
import { PeerEngine } from '../../src/engine/peer-engine.js';
import type { Transport } from '../../src/engine/ports.js';
import { ConnectionManager } from '../../src/net/connection-manager.js';
import { DEFAULT_NET_LIMITS } from '../../src/net/net-limits.js';
import type { Contact, Message } from '../../src/protocol/messages.js';
import { ffmpegDecodeErrors, makeTestStream } from '../support/media.js';
import { killAll, startProc, status, tempDir, waitFor, type Proc } from '../support/processes.js';
import { matchRecording, sourceChunks } from '../support/recordings.js';

const NODES = 8;
const procs: Proc[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
  await killAll(procs);
});

/** A peer built from the real engine and transport that lies in every chunk it serves. */
async function startLiar(tracker: Contact, channelId: string) {
  const { privateKey: wrongKey } = generateKeyPairSync('ed25519');
  let lies = 0;
  const receive: { fn: (from: Parameters<PeerEngine['receive']>[0], msg: Message) => void; lost: (id: string) => void } = {
    fn: () => undefined,
    lost: () => undefined,
  };
  const net = new ConnectionManager({
    self: { peerId: 'liar-0001', contact: { host: '127.0.0.1', port: 0 }, role: 'node' },
    limits: DEFAULT_NET_LIMITS,
    onMessage: (from, msg) => receive.fn(from, msg),
    onPeerDisconnected: (id) => receive.lost(id),
  });
  const contact = await net.listen('127.0.0.1', 0);
  const lying: Transport = {
    send(to, msg) {
      if (msg.type === 'DataChunkResp' && msg.data.length > 0) {
        lies++;
        const data = Buffer.from(msg.data);
        const mid = Math.floor(data.length / 2);
        data[mid] = (data[mid] ?? 0) ^ 0xff;
        // Odd chunks: also re-signed with a key that is not the channel's (a forgery, not noise).
        const signature = msg.chunkId % 2 ? sign(null, data, wrongKey) : msg.signature;
        return net.send(to, { ...msg, data, signature });
      }
      return net.send(to, msg);
    },
    disconnect: (id) => net.disconnect(id),
  };
  const clock = { now: () => Date.now() };
  const random = { next: () => Math.random() };
  const engine = new PeerEngine({ self: { peerId: 'liar-0001', contact, role: 'node' }, clock, random, transport: lying, config: DEFAULT_ENGINE_CONFIG, tracker });
  receive.fn = (from, msg) => engine.receive(from, msg);
  receive.lost = (id) => engine.peerDisconnected(id);
  // It accepts anything it is sent, so it holds (and advertises) every chunk.
  const live = new LiveChannels({ engine, clock, random, config: DEFAULT_LIVE_CONFIG, verifier: { verify: () => true }, budgetBytes: 64 << 20 });
  const timer = setInterval(() => {
    engine.tick();
    live.tick();
  }, 100);
  engine.join(channelId, 'live');
  live.startViewer(channelId);
  cleanups.push(async () => {
    clearInterval(timer);
    await net.close();
  });
  return { lies: () => lies, partners: () => engine.partnersOf(channelId).length };
}

describe('a hostile peer serving forged and corrupted chunks', () => {
  it('gets no bad byte into any recording and is dropped', async () => {
    const dir = tempDir('sd-liar-');
    const input = makeTestStream({ seconds: 60, bitrateKbps: 1000, path: join(dir, 'input.ts') });
    const chunks = sourceChunks(input, DEFAULT_LIVE_CONFIG.chunkMs);
    const tracker = startProc('tracker', dir, ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(tracker);
    const t = (await waitFor('tracker', 10_000, () => status(tracker))).node.contact;
    const source = startProc('source', dir, ['publish', 'live', '--tracker', t, '--channel', 'target', '--input', input, '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(source);
    const channelId = (await waitFor('source', 10_000, async () => (await status(source))?.contents[0]?.id)) as string;

    const liar = await startLiar(parseHostPort(t) as Contact, channelId);
    const nodes: Proc[] = [];
    for (let i = 0; i < NODES; i++) {
      const n = startProc(`node${i}`, dir, [
        'node', '--tracker', t, '--listen', '127.0.0.1:0', '--watch', channelId, '--player', 'none', '--record', join(dir, `node${i}.ts`), '--log-level', 'warn',
      ]);
      nodes.push(n);
      procs.push(n);
    }
    await new Promise((r) => setTimeout(r, 35_000));
    const statuses = await Promise.all(nodes.map(status));
    await killAll(nodes, 'SIGTERM');

    const bad = statuses.reduce((a, s) => a + (s?.contents[0]?.badChunks ?? 0), 0);
    const shunned = statuses.filter((s) => (s?.contents[0]?.partnersBlacklisted ?? 0) > 0).length;
    const stillPartnered = statuses.filter((s) => s?.contents[0]?.partnerIds.includes('liar-0001')).length;
    console.log(`liar: sent ${liar.lies()} bad chunks; nodes rejected ${bad}; ${shunned} nodes blacklisted it; ${stillPartnered} still partnered at the end`);
    expect(liar.lies()).toBeGreaterThan(0);
    expect(bad).toBeGreaterThan(0);
    expect(shunned).toBeGreaterThan(0);
    for (let i = 0; i < NODES; i++) {
      const rec = join(dir, `node${i}.ts`);
      const bytes = existsSync(rec) ? readFileSync(rec) : Buffer.alloc(0);
      const m = matchRecording(bytes, chunks);
      expect(bytes.length, `node${i} recorded`).toBeGreaterThan(0);
      expect(m.unmatchedBytes, `node${i}: bytes in its recording that the source never sent`).toBe(0);
      expect(ffmpegDecodeErrors(rec), `node${i} recording decodes`).toEqual([]);
    }
  }, 150_000);
});
