// A hostile peer joins a live swarm and serves forged or corrupted chunks: half of what it sends has
// altered media bytes, the other half is re-signed with a key that is not the channel's. Zero bad
// bytes may reach any recording, the liar must be dropped by every node it lied to, and no node may
// pass a bad chunk on (no node rejects more bad chunks than the liar sent it).
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
import { killAll, startProc, status, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';
import { gapFreeGopsOf, matchRecording, sourceChunks } from '../support/recordings.js';

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
  /** Bad chunks sent, per receiving peer id. */
  const liesTo = new Map<string, number>();
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
        if (to.peerId !== undefined) liesTo.set(to.peerId, (liesTo.get(to.peerId) ?? 0) + 1);
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
  return { lies: () => lies, liesTo: () => new Map(liesTo), partners: () => engine.partnersOf(channelId).length };
}

describe('a hostile peer serving forged and corrupted chunks', () => {
  it('gets no bad byte into any recording and is dropped by every node it lied to', async () => {
    const dir = tempDir('sd-liar-');
    const input = makeTestStream({ seconds: 60, bitrateKbps: 1000, path: join(dir, 'input.ts') });
    const chunks = sourceChunks(input, DEFAULT_LIVE_CONFIG.chunkMs);
    const tracker = startProc('tracker', dir, ['tracker', '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(tracker);
    const t = (await waitUp(tracker, 10_000, 'tracker')).node.contact;
    const source = startProc('source', dir, ['publish', 'live', '--tracker', t, '--channel', 'target', '--input', input, '--listen', '127.0.0.1:0', '--log-level', 'warn']);
    procs.push(source);
    const channelId = await waitFor('the source to announce its channel', 10_000, async () => (await status(source))?.contents[0]?.id, (id) => id.length > 0);

    const liar = await startLiar(parseHostPort(t) as Contact, channelId);
    const nodes: Proc[] = [];
    for (let i = 0; i < NODES; i++) {
      const n = startProc(`node${i}`, dir, [
        'node', '--tracker', t, '--listen', '127.0.0.1:0', '--watch', channelId, '--player', 'none', '--record', join(dir, `node${i}.ts`), '--log-level', 'warn',
      ]);
      nodes.push(n);
      procs.push(n);
    }
    // The swarm plays for a while with the liar among it: every node has 25 chunks due.
    const playing = async () => Promise.all(nodes.map(status));
    await waitFor('every node to have played 25 chunks', 60_000, playing, (ss) => ss.every((s) => (s?.contents[0]?.chunksDue ?? 0) >= 25), { everyMs: 1000 });
    // Every node the liar lied to (so far) must drop it; a lie still in flight gets a few seconds.
    const liedTo = liar.liesTo();
    const ids = (await playing()).map((s) => s?.node.id);
    const dropped = (ss: Awaited<ReturnType<typeof playing>>) =>
      ss.every((s, i) => !liedTo.has(ids[i] ?? '') || (s !== undefined && (s.contents[0]?.badChunks ?? 0) >= 1 && !s.contents[0]?.partnerIds.includes('liar-0001')));
    const statuses = await waitFor('every node the liar lied to to drop it', 10_000, playing, dropped, { everyMs: 500 }).catch(() => playing());
    await killAll(nodes, 'SIGTERM');

    const sent = liar.liesTo();
    const rows = statuses.map((s, i) => ({
      i,
      id: s?.node.id ?? '?',
      liesTo: sent.get(s?.node.id ?? '') ?? 0,
      bad: s?.contents[0]?.badChunks ?? 0,
      partnered: s?.contents[0]?.partnerIds.includes('liar-0001') ?? false,
    }));
    console.log(
      `liar: sent ${liar.lies()} bad chunks to ${sent.size} peers\n` +
        rows.map((r) => `  node${r.i}: lied to ${r.liesTo}×, rejected ${r.bad}, still partnered with the liar: ${r.partnered}`).join('\n'),
    );
    expect(liar.lies(), 'the liar served bad chunks').toBeGreaterThan(0);
    expect(rows.filter((r) => r.liesTo > 0).length, 'nodes the liar lied to').toBeGreaterThan(0);
    for (const r of rows) {
      expect(statuses[r.i], `node${r.i} answered status`).toBeDefined();
      // Only the liar sends bad chunks: a node rejecting more than it was lied to would mean another
      // node stored a bad chunk and passed it on.
      expect(r.bad, `node${r.i}: bad chunks rejected <= bad chunks the liar sent it`).toBeLessThanOrEqual(r.liesTo);
      if (liedTo.has(r.id)) {
        expect(r.bad, `node${r.i} detected the liar's bad chunks`).toBeGreaterThanOrEqual(1);
        expect(r.partnered, `node${r.i} dropped the liar`).toBe(false);
      }
    }
    for (let i = 0; i < NODES; i++) {
      const rec = join(dir, `node${i}.ts`);
      const bytes = existsSync(rec) ? readFileSync(rec) : Buffer.alloc(0);
      const m = matchRecording(bytes, chunks);
      expect(bytes.length, `node${i} recorded`).toBeGreaterThan(0);
      expect(m.unmatchedBytes, `node${i}: bytes in its recording that the source never sent`).toBe(0);
      // Whole GOPs of each gap-free run (a node joins at any chunk and may skip one that misses its
      // deadline on a loaded machine; its player starts, and resumes, at a keyframe).
      const gops = gapFreeGopsOf(rec, chunks);
      expect(gops.share, `node${i}: share of its recording in whole GOPs between skips (${m.gaps} chunks skipped)`).toBeGreaterThan(0.5);
      for (const p of gops.paths) expect(ffmpegDecodeErrors(p), `node${i} recording decodes (${m.gaps} chunks skipped)`).toEqual([]);
    }
  }, 150_000);
});
