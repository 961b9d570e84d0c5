// The simulator's optional on-demand data plane (the VoD benchmark's swarm in virtual time): a seed
// holding a film of patterned pieces (a real manifest, real SHA-256 checks), and on every peer a
// Downloads plane — the one the box runs — that starts fetching the film when the peer's viewer
// presses play (at playAt(index)), with a SimPlayer (sim-player.ts) reading it as mpv does.
import { DEFAULT_DOWNLOAD_CONFIG, type DownloadConfig } from '../engine/download-config.js';
import { Downloads } from '../engine/downloads.js';
import type { EngineConfig } from '../engine/engine-config.js';
import { ContentRouter } from '../engine/plane/content-router.js';
import type { PeerEngine } from '../engine/peer-engine.js';
import { simOrigin } from './sim-origin.js';
import { SPAN_PROBE_BYTES } from '../source/ts-span.js';
import { encodeManifest, PIECE_HASH_BYTES, pieceCountOf, type Manifest } from '../protocol/manifest.js';
import type { Contact } from '../protocol/messages.js';
import { contentIdOf, sha256, Sha256Verifier } from '../source/piece-verifier.js';
import { MemoryPieceStore } from './memory-store.js';
import type { SeededRandom } from './seeded-random.js';
import { DEFAULT_SIM_PLAYER, SimPlayer, type SimPlayerOptions, type SimViewerResult } from './sim-player.js';
import type { SimNetwork } from './sim-network.js';
import type { VirtualClock } from './virtual-clock.js';

export interface SimVodOptions {
  /** The film: its length and rate (size = seconds × bps ÷ 8), cut in pieces of pieceBytes. */
  mediaSeconds: number;
  mediaBps: number;
  pieceBytes: number;
  /** The seed's link upload (bits/s). */
  seedUploadBps: number;
  /** When viewer `index` presses play (virtual ms). */
  playAt: (index: number) => number;
  /** Download tunables for every node (the seed's too). */
  config?: Partial<DownloadConfig>;
  /** The simulated mpv (defaults: DEFAULT_SIM_PLAYER; the tail it reads and its start buffer follow from `duration`). */
  player?: Partial<Omit<SimPlayerOptions, 'mediaBytesPerS' | 'tailBytes' | 'startBufferMs'>>;
  /**
   * How the player learns the film's duration, as on a box (vod-node.ts, player/told-duration.ts):
   * 'manifest' (default; the publisher wrote it, nothing of the end is read), 'ends' (a manifest
   * without it: the box reads the file's last 64 KiB), 'mpv' (not told: mpv reads its last
   * 250,000 bytes). Told, the box holds playPrebufferMs of media before the player starts.
   */
  duration?: 'manifest' | 'ends' | 'mpv';
  /** Engine overrides for the seed. */
  seedEngine?: Partial<EngineConfig>;
}

export interface SimVodDeps {
  clock: VirtualClock;
  network: SimNetwork;
  random: SeededRandom;
  engineConfig: EngineConfig;
  trackerContact: Contact;
}

/** A viewer: its download plane and its player (once it pressed play). */
export interface SimVodViewer {
  readonly downloads: Downloads;
  player: SimPlayer | undefined;
}

export const SIM_SEED_ID = 'seed';
/** How often the simulated player reads on and plays on between pieces (virtual ms). */
const PLAYER_STEP_MS = 20;

/** A film of `size` bytes in patterned pieces, its manifest and content id. */
function makeFilm(name: string, size: number, pieceBytes: number, durationMs: number | undefined): { pieces: Uint8Array[]; manifest: Manifest; manifestBytes: Uint8Array; contentId: string } {
  const count = pieceCountOf(size, pieceBytes);
  const pieces: Uint8Array[] = [];
  const hashes = new Uint8Array(count * PIECE_HASH_BYTES);
  for (let i = 0; i < count; i++) {
    const p = new Uint8Array(i === count - 1 ? size - i * pieceBytes : pieceBytes);
    for (let k = 0; k < p.length; k += 4096) p[k] = (i * 31 + k) & 0xff;
    p[p.length - 1] = i & 0xff;
    pieces.push(p);
    hashes.set(sha256(p), i * PIECE_HASH_BYTES);
  }
  const manifest: Manifest = { name, sizeBytes: size, pieceBytes, pieceCount: count, pieceHashes: hashes, ...(durationMs !== undefined ? { durationMs } : {}) };
  const manifestBytes = encodeManifest(manifest);
  return { pieces, manifest, manifestBytes, contentId: contentIdOf(manifestBytes) };
}

export class SimVodPlane {
  readonly contentId: string;
  readonly config: DownloadConfig;
  readonly seedEngine: PeerEngine;
  readonly seed: Downloads;
  readonly manifest: Manifest;
  private readonly viewers: SimVodViewer[] = [];
  private readonly playerOptions: SimPlayerOptions;

  constructor(
    private readonly deps: SimVodDeps,
    private readonly opts: SimVodOptions,
  ) {
    this.config = { ...DEFAULT_DOWNLOAD_CONFIG, ...opts.config };
    const size = Math.round((opts.mediaSeconds * opts.mediaBps) / 8);
    const duration = opts.duration ?? 'manifest';
    const film = makeFilm('film.ts', size, opts.pieceBytes, duration === 'manifest' ? opts.mediaSeconds * 1000 : undefined);
    this.contentId = film.contentId;
    this.manifest = film.manifest;
    const told = duration !== 'mpv';
    const byMode = told ? { toldDuration: true, tailBytes: duration === 'ends' ? SPAN_PROBE_BYTES : 0, startBufferMs: this.config.playPrebufferMs } : { toldDuration: false };
    this.playerOptions = { ...DEFAULT_SIM_PLAYER, ...opts.player, ...byMode, mediaBytesPerS: opts.mediaBps / 8 };
    const engine = simOrigin(deps, { peerId: SIM_SEED_ID, host: 'seed.sim', role: 'node', uploadBps: opts.seedUploadBps, ...(opts.seedEngine ? { engine: opts.seedEngine } : {}) });
    this.seedEngine = engine;
    this.seed = this.plane(engine);
    this.seed.seed(this.contentId, film.manifest, film.manifestBytes, new MemoryPieceStore(new Map(film.pieces.map((p, i) => [i, p]))));
    engine.join(this.contentId, 'download', 'film.ts');
  }

  /** The download plane of peer `index` (call before it joins anything); it plays at playAt(index). */
  attachViewer(engine: PeerEngine, index: number): SimVodViewer {
    // A stored piece wakes the player after the plane's work (the box's reads resume asynchronously).
    const viewer: SimVodViewer = { downloads: this.plane(engine, () => this.deps.clock.schedule(0, () => viewer.player?.step())), player: undefined };
    this.viewers.push(viewer);
    const { clock } = this.deps;
    clock.scheduleAt(Math.max(clock.now(), this.opts.playAt(index)), () => this.play(engine, viewer));
    return viewer;
  }

  /** The seed's share of the driver tick. */
  tickSeed(): void {
    this.seedEngine.tick();
    this.seed.tick();
  }

  /** Every viewer's result (in the order they were attached; null first frame: never played). */
  results(): SimViewerResult[] {
    return this.viewers.map((v) => v.player?.results ?? { firstFrameMs: null, stalls: 0, stallMs: 0, stallsAt: [], stallPieces: [] });
  }

  private play(engine: PeerEngine, viewer: SimVodViewer): void {
    const { downloads } = viewer;
    const id = this.contentId;
    downloads.fetch(id, () => new MemoryPieceStore());
    // As vod-node: told the duration, the player reads the end's last 64 KiB, or nothing when the manifest has it.
    if (this.playerOptions.toldDuration) downloads.setPlayTail(id, SPAN_PROBE_BYTES, 0);
    engine.join(id, 'download');
    const player = new SimPlayer(
      this.deps.clock,
      {
        sizeBytes: () => downloads.manifestOf(id)?.sizeBytes,
        pieceBytes: () => downloads.manifestOf(id)?.pieceBytes,
        has: (i) => downloads.storeOf(id)?.has(i) ?? false,
        setPlayhead: (i, rate, ahead) => void downloads.setPlayhead(id, i, rate, ahead),
      },
      this.playerOptions,
    );
    viewer.player = player;
    player.start();
    const step = () => {
      player.step();
      this.deps.clock.schedule(PLAYER_STEP_MS, step);
    };
    const poll = () => {
      player.poll();
      this.deps.clock.schedule(this.playerOptions.pollMs, poll);
    };
    step();
    this.deps.clock.schedule(this.playerOptions.pollMs, poll);
  }

  private plane(engine: PeerEngine, stored?: () => void): Downloads {
    const downloads = new Downloads({
      engine,
      clock: this.deps.clock,
      random: this.deps.random.fork(),
      config: this.config,
      verifier: new Sha256Verifier(),
      ...(stored ? { events: { pieceStored: () => stored() } } : {}),
    });
    new ContentRouter(engine).add({ runs: (id) => downloads.has(id), receive: (from, msg) => downloads.receive(from, msg) });
    return downloads;
  }
}
