// The simulator's optional live data plane: a source node producing pattern chunks of a fixed size
// every chunkMs, a LiveChannels on every peer (viewers) pacing its uploads at a share of its link,
// and "liars" whose transport corrupts every chunk they serve (so verification can be exercised).
import { DEFAULT_LIVE_CONFIG, type LiveConfig } from '../engine/live-config.js';
import { LiveChannels } from '../engine/live-channels.js';
import type { EngineConfig } from '../engine/engine-config.js';
import type { PeerEngine } from '../engine/peer-engine.js';
import { simOrigin } from './sim-origin.js';
import type { Transport } from '../engine/ports.js';
import type { Contact, Message } from '../protocol/messages.js';
import { corruptData, patternData, PatternVerifier } from './live-pattern.js';
import type { SeededRandom } from './seeded-random.js';
import type { SimNetwork } from './sim-network.js';
import type { VirtualClock } from './virtual-clock.js';

export interface SimLiveOptions {
  /** Bytes of every chunk (stream rate = chunkBytes × 8000 / chunkMs bits/s). */
  chunkBytes: number;
  /** Live tunables for every node (uploadBps is set per node from its link). */
  config?: Partial<LiveConfig>;
  /** Buffer budget of every node (default 64 MiB). */
  budgetBytes?: number;
  /** The source's link upload (default: the network's default). */
  sourceUploadBps?: number;
  /** Engine overrides for the source (e.g. more partners). */
  sourceEngine?: Partial<EngineConfig>;
  /** Peers (by index) whose transport corrupts every chunk they serve. */
  isLiar?: (index: number) => boolean;
  /** Chunk serving is paced at this percentage of a node's link upload (default 95). */
  pacingPct?: number;
  /** When the source joins and starts producing (default 0). */
  sourceStartMs?: number;
  /** Check every chunk handed to a viewer's player (verified, in id order, once): see `played`. */
  checkPlayed?: boolean;
}

/** What the viewers' players were handed (with checkPlayed). */
export interface PlayedCheck {
  chunks: number;
  /** Chunks that fail the pattern check: an unverified byte played. */
  unverified: number;
  /** Chunks handed over at or below an id already handed over. */
  outOfOrder: number;
}

export interface SimLiveDeps {
  clock: VirtualClock;
  network: SimNetwork;
  random: SeededRandom;
  engineConfig: EngineConfig;
  trackerContact: Contact;
  contentId: string;
}

export const SIM_SOURCE_ID = 'source';
const DEFAULT_BUDGET_BYTES = 64 * 1024 * 1024;

export class SimLivePlane {
  readonly config: LiveConfig;
  readonly sourceEngine: PeerEngine;
  readonly source: LiveChannels;
  readonly verifier: PatternVerifier;
  readonly played: PlayedCheck = { chunks: 0, unverified: 0, outOfOrder: 0 };
  private nextChunkId = 0;
  private producing = false;

  constructor(
    private readonly deps: SimLiveDeps,
    private readonly opts: SimLiveOptions,
  ) {
    this.config = { ...DEFAULT_LIVE_CONFIG, ...opts.config };
    this.verifier = new PatternVerifier(opts.chunkBytes);
    const uploadBps = opts.sourceUploadBps ?? deps.network.config.defaultUploadBps;
    const engine = simOrigin(deps, { peerId: SIM_SOURCE_ID, host: 'source.sim', role: 'source', uploadBps, ...(opts.sourceEngine ? { engine: opts.sourceEngine } : {}) });
    this.sourceEngine = engine;
    this.source = this.channels(engine, uploadBps);
    deps.clock.scheduleAt(opts.sourceStartMs ?? 0, () => {
      engine.join(deps.contentId, 'live');
      this.source.startSource(deps.contentId);
      this.producing = true;
      this.produce();
    });
  }

  /** The stream's rate in bits/s. */
  get streamBps(): number {
    return (this.opts.chunkBytes * 8000) / this.config.chunkMs;
  }

  /** Chunks published so far. */
  get chunksPublished(): number {
    return this.nextChunkId;
  }

  /** A peer's transport: liars corrupt every chunk they serve. */
  transportFor(index: number, transport: Transport): Transport {
    if (!this.opts.isLiar?.(index)) return transport;
    return {
      send: (to, msg: Message) =>
        transport.send(to, msg.type === 'DataChunkResp' ? { ...msg, data: corruptData(msg.data) } : msg),
      disconnect: (peerId) => transport.disconnect(peerId),
    };
  }

  /** The data plane of a viewer peer whose link uploads `uploadBps` (call before engine.join). */
  attachViewer(engine: PeerEngine, uploadBps: number): LiveChannels {
    return this.channels(engine, uploadBps);
  }

  /** The source's share of the driver tick (engine first, then its data plane). */
  tickSource(): void {
    this.sourceEngine.tick();
    this.source.tick();
  }

  stopProducing(): void {
    this.producing = false;
  }

  private channels(engine: PeerEngine, linkBps: number): LiveChannels {
    const pacing = this.opts.pacingPct ?? 95;
    let lastPlayed = -1;
    const played = this.played;
    return new LiveChannels({
      events: this.opts.checkPlayed
        ? {
            chunkReady: (contentId, chunk) => {
              played.chunks++;
              if (!this.verifier.verify(contentId, chunk)) played.unverified++;
              if (chunk.id <= lastPlayed) played.outOfOrder++;
              lastPlayed = chunk.id;
            },
          }
        : undefined,
      engine,
      clock: this.deps.clock,
      random: this.deps.random.fork(),
      config: { ...this.config, uploadBps: Math.floor((linkBps * pacing) / 100) },
      verifier: this.verifier,
      budgetBytes: this.opts.budgetBytes ?? DEFAULT_BUDGET_BYTES,
    });
  }

  private produce(): void {
    if (!this.producing) return;
    const id = this.nextChunkId++;
    const now = this.deps.clock.now();
    this.source.publishChunk(this.deps.contentId, {
      id,
      timestampMs: now,
      signature: new Uint8Array(0),
      data: patternData(id, this.opts.chunkBytes),
    });
    this.deps.clock.schedule(this.config.chunkMs, () => this.produce());
  }
}
