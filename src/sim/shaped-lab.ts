// The namespace shaped-swarm benchmark's swarm (scripts/bench/shaped-swarm.ts, docs/live-shaped-uplinks.md)
// as a simulator scenario: a source whose uplink is 3x the stream, boxes with uplinks of 3 .. 1.71x
// and one of 0.8x, 20 s warm-up then 60 s measured, 0.8 Mbit/s in the product's chunks, unpaced serving as real
// nodes serve. Unshaped: every uplink at 100x.
import { DEFAULT_LIVE_CONFIG, type LiveConfig } from '../engine/live-config.js';
import type { LiveScenario } from './live-scenario.js';

/** The boxes' uplinks, in multiples of the stream (the namespace benchmark's 8 boxes). */
export const SHAPED_LAB_UPLINKS: readonly number[] = [3, 2.79, 2.57, 2.36, 2.14, 1.93, 1.71, 0.8];
export const SHAPED_LAB_STREAM_BPS = 800_000;

export function shapedLabScenario(seed: number, o: { shaped: boolean; live?: Partial<LiveConfig>; uplinks?: readonly number[] }): LiveScenario {
  const uplinks = o.uplinks ?? SHAPED_LAB_UPLINKS;
  return {
    seed,
    nodes: uplinks.length,
    streamBps: SHAPED_LAB_STREAM_BPS,
    durationMs: 82_000,
    arrivalStartMs: 1000,
    arrivalWindowMs: 1000,
    measureFromMs: 22_000,
    uploadFactors: o.shaped ? [...uplinks] : uplinks.map(() => 100),
    sourceUploadFactor: o.shaped ? 3 : 100,
    pacingPct: 0,
    // The product's chunk duration, as the namespace benchmark runs it.
    live: { chunkMs: DEFAULT_LIVE_CONFIG.chunkMs, ...o.live },
    // One bridge: a millisecond between any two namespaces; the tbf queue and the kernel's send buffer
    // (tcp_wmem up to 4 MB) hold what the uplink cannot send yet.
    network: { minLatencyMs: 1, latencyPerUnitMs: 0, connectionQueueBytes: 4 * 1024 * 1024 },
  };
}
