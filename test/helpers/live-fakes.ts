// A real PeerEngine + LiveChannels driven by hand: partners are made by answering their
// PartnershipReq, their buffer maps and chunks are fed through engine.receive, and what the node
// sends is read from the RecordingTransport.
import { BufferMap } from '../../src/engine/buffer-map.js';
import type { ChunkRecord } from '../../src/engine/chunk-buffer.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import { DEFAULT_LIVE_CONFIG, type LiveConfig } from '../../src/engine/live-config.js';
import { LiveChannels } from '../../src/engine/live-channels.js';
import type { ChunkVerifier } from '../../src/engine/live-ports.js';
import { PeerEngine } from '../../src/engine/peer-engine.js';
import { SeededRandom } from '../../src/sim/seeded-random.js';
import { ManualClock, RecordingTransport, addr, contactOf } from './engine-fakes.js';

export const C = 'c1';

/** Chunk data whose bytes all equal the id (mod 256): what the test verifier accepts. */
export function goodChunk(id: number, bytes = 1000, timestampMs = 0): ChunkRecord {
  return { id, timestampMs, signature: new Uint8Array(0), data: new Uint8Array(bytes).fill(id & 0xff) };
}

export const testVerifier: ChunkVerifier = {
  verify: (_c, chunk) => chunk.data.length > 0 && chunk.data.every((b) => b === (chunk.id & 0xff)),
};

export interface LiveTestNode {
  clock: ManualClock;
  transport: RecordingTransport;
  engine: PeerEngine;
  live: LiveChannels;
  events: string[];
  ready: number[];
  /** Accepts a partnership request from `id` (it becomes a partner). */
  partner(id: string): void;
  /** `id` advertises the listed chunk ids. */
  advertise(id: string, ids: number[]): void;
  /** `from` sends a DataChunkResp. */
  respond(from: string, chunk: ChunkRecord): void;
  reject(from: string, chunkId: number, reason: string): void;
  /** Advances the clock and runs engine.tick() then live.tick(). */
  tick(ms?: number): void;
  /** Chunk ids requested of a partner since the last clear. */
  requested(peerId: string): number[];
}

export function liveNode(opts: { config?: Partial<LiveConfig>; budgetBytes?: number; viewer?: boolean } = {}): LiveTestNode {
  const clock = new ManualClock(0);
  const transport = new RecordingTransport();
  const engine = new PeerEngine({
    self: { peerId: 'me', contact: contactOf('me'), role: 'node' },
    clock,
    random: new SeededRandom(5),
    transport,
    config: { ...DEFAULT_ENGINE_CONFIG, maxPartners: 16 },
  });
  const events: string[] = [];
  const ready: number[] = [];
  const live = new LiveChannels({
    engine,
    clock,
    random: new SeededRandom(6),
    config: { ...DEFAULT_LIVE_CONFIG, uselessPartnerMs: 0, partnerRefineMs: 0, ...opts.config },
    verifier: testVerifier,
    budgetBytes: opts.budgetBytes ?? 64 * 1024 * 1024,
    events: {
      chunkReady: (_c, chunk) => ready.push(chunk.id),
      chunkSkipped: (_c, id) => events.push(`skip:${id}`),
      badChunk: (_c, peer, id, reason) => events.push(`bad:${peer}:${id}:${reason}`),
      playbackStarted: (_c, first) => events.push(`start:${first}`),
    },
  });
  engine.join(C, 'live');
  if (opts.viewer !== false) live.startViewer(C);
  const node: LiveTestNode = {
    clock,
    transport,
    engine,
    live,
    events,
    ready,
    partner(id) {
      engine.receive(addr(id), { type: 'PartnershipReq', peerId: id, contentId: C });
    },
    advertise(id, ids) {
      const base = ids.length ? Math.min(...ids) : 0;
      const len = ids.length ? Math.max(...ids) - base + 1 : 0;
      const w = BufferMap.derive(base, len, (x) => ids.includes(x)).toWire();
      engine.receive(addr(id), { type: 'BufferMapInfo', peerId: id, contentId: C, ...w });
    },
    respond(from, chunk) {
      engine.receive(addr(from), {
        type: 'DataChunkResp',
        peerId: from,
        contentId: C,
        chunkId: chunk.id,
        timestampMs: chunk.timestampMs,
        signature: chunk.signature,
        data: chunk.data,
      });
    },
    reject(from, chunkId, reason) {
      engine.receive(addr(from), { type: 'DataChunkReject', peerId: from, contentId: C, chunkId, reason });
    },
    tick(ms = 100) {
      clock.advance(ms);
      engine.tick();
      live.tick();
    },
    requested(peerId) {
      return transport.of('DataChunkReq', peerId).map((s) => s.msg.chunkId);
    },
  };
  return node;
}

/** A viewer with partners a and b both advertising 0..20 (chunkMs 1000, prebuffer 3 s): join point 17. */
export function joined(config: Partial<LiveConfig> = {}): LiveTestNode {
  const n = liveNode({ config: { chunkMs: 1000, prebufferMs: 3000, ...config } });
  n.partner('a');
  n.partner('b');
  const ids = Array.from({ length: 21 }, (_, i) => i);
  n.advertise('a', ids);
  n.advertise('b', ids);
  n.transport.clear();
  n.tick();
  return n;
}
