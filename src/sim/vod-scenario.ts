// The VoD benchmark's swarm (scripts/bench/vod.ts) as a simulator scenario: a tracker, a seed whose
// uplink is seedFactor × the film's rate, and viewers with uplinks of viewerFactor × it, on one
// bridge (a millisecond between any two, the kernel's send buffer and the home router's queue
// holding what an uplink cannot send yet), pressing play staggerMs apart after warmupMs. Summarised
// as the benchmark summarises its namespace run: first frame p50/p95 and the stall ratio over
// watchMs after each viewer's first frame.
import type { DownloadConfig } from '../engine/download-config.js';
import type { SimPlayerOptions, SimViewerResult } from './sim-player.js';
import { Simulator } from './simulator.js';

export interface VodScenario {
  seed: number;
  viewers: number;
  mediaSeconds: number;
  mediaBps: number;
  pieceBytes: number;
  seedFactor: number;
  viewerFactor: number;
  staggerMs: number;
  /** Boxes are up this long before the first viewer presses play. */
  warmupMs: number;
  watchMs: number;
  config?: Partial<DownloadConfig>;
  player?: Partial<Omit<SimPlayerOptions, 'mediaBytesPerS' | 'watchMs' | 'tailBytes' | 'startBufferMs'>>;
  /** How the player learns the film's duration (SimVodOptions.duration; default: from the manifest). */
  duration?: 'manifest' | 'ends' | 'mpv';
}

export interface VodSummary {
  viewers: SimViewerResult[];
  noFirstFrame: number;
  firstFrameP50Ms: number | null;
  firstFrameP95Ms: number | null;
  /** Mean over viewers that played of stall time ÷ watchMs. */
  stallRatioMean: number;
  stallRatioMax: number;
  stalls: number;
  /** Piece bytes the seed sent ÷ the film's size (copies of the film it uploaded). */
  seedCopies: number;
  /** Virtual ms simulated per real ms. */
  speed: number;
}

export const VOD_FLASH_CROWD: Omit<VodScenario, 'seed'> = {
  viewers: 10,
  mediaSeconds: 240,
  mediaBps: 2_000_000,
  pieceBytes: 64 * 1024,
  seedFactor: 3,
  viewerFactor: 1.5,
  staggerMs: 500,
  warmupMs: 3000,
  watchMs: 60_000,
};

function percentile(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

export function runVodScenario(sc: VodScenario): VodSummary {
  const started = Date.now();
  const sim = new Simulator({
    seed: sc.seed,
    nodes: sc.viewers,
    arrivalWindowMs: 0,
    uploadBps: () => Math.round(sc.viewerFactor * sc.mediaBps),
    network: { minLatencyMs: 1, latencyPerUnitMs: 0, connectionQueueBytes: 4 * 1024 * 1024 },
    vod: {
      mediaSeconds: sc.mediaSeconds,
      mediaBps: sc.mediaBps,
      pieceBytes: sc.pieceBytes,
      seedUploadBps: Math.round(sc.seedFactor * sc.mediaBps),
      playAt: (i) => sc.warmupMs + i * sc.staggerMs,
      ...(sc.config ? { config: sc.config } : {}),
      ...(sc.duration ? { duration: sc.duration } : {}),
      player: { ...sc.player, watchMs: sc.watchMs },
    },
  });
  const endMs = sc.warmupMs + (sc.viewers - 1) * sc.staggerMs + 20_000 + sc.watchMs;
  sim.runUntil(endMs);
  const vod = sim.vod!;
  const viewers = vod.results();
  const played = viewers.filter((v) => v.firstFrameMs !== null);
  const ratios = played.map((v) => v.stallMs / sc.watchMs);
  const seedStats = vod.seed.stats(vod.contentId);
  return {
    viewers,
    noFirstFrame: viewers.length - played.length,
    firstFrameP50Ms: percentile(played.map((v) => v.firstFrameMs as number), 50),
    firstFrameP95Ms: percentile(played.map((v) => v.firstFrameMs as number), 95),
    stallRatioMean: ratios.length ? ratios.reduce((a, b) => a + b, 0) / ratios.length : 0,
    stallRatioMax: ratios.length ? Math.max(...ratios) : 0,
    stalls: viewers.reduce((a, v) => a + v.stalls, 0),
    seedCopies: (seedStats?.pieceBytesOut ?? 0) / vod.manifest.sizeBytes,
    speed: endMs / Math.max(1, Date.now() - started),
  };
}
