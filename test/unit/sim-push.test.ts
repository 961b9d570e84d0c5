// Pushed sub-streams in the simulator (docs/live-push.md): the namespace shaped-swarm benchmark's
// swarm (8 boxes, 0.8 Mbit/s in 1 s chunks, unpaced serving as real nodes serve), pull only and with
// live.substreams = 4, on unshaped links and behind its shaped uplinks.
import { describe, expect, it } from 'vitest';
import type { LiveConfig } from '../../src/engine/live-config.js';
import { runLiveScenario } from '../../src/sim/live-scenario.js';

const UPLINKS = [3, 2.79, 2.57, 2.36, 2.14, 1.93, 1.71, 0.8];

function swarm(seed: number, shaped: boolean, live: Partial<LiveConfig>) {
  return runLiveScenario({
    seed,
    nodes: UPLINKS.length,
    streamBps: 800_000,
    durationMs: 82_000,
    arrivalStartMs: 1000,
    arrivalWindowMs: 1000,
    measureFromMs: 22_000,
    uploadFactors: shaped ? UPLINKS : UPLINKS.map(() => 100),
    sourceUploadFactor: shaped ? 3 : 100,
    pacingPct: 0,
    live: { chunkMs: 1000, ...live },
    network: { minLatencyMs: 1, latencyPerUnitMs: 0, connectionQueueBytes: 4 * 1024 * 1024 },
  });
}

describe('simulator: pushed sub-streams', () => {
  it('unshaped: every box plays every chunk, nearly all of them pushed, and the source uploads about one copy (pull alone: 1.4)', () => {
    const pull = swarm(1, false, {});
    const push = swarm(1, false, { substreams: 4 });
    expect(pull.summary.sourceUploadFactor).toBeGreaterThan(1.3);
    expect(push.summary.sourceUploadFactor).toBeLessThan(1.2);
    for (const n of push.nodes) {
      expect(n.onTime / n.due, `${n.peerId} continuity`).toBe(1);
      expect(n.stats.chunksPushedIn / n.stats.chunksStored, `${n.peerId} pushed share`).toBeGreaterThan(0.9);
      expect(n.stats.badChunks).toBe(0);
    }
  });

  it('behind shaped uplinks (seeds 1-5): boxes with >= 1x uplinks keep continuity >= 0.95 and the source uploads less than with pull alone', () => {
    const sources = { pull: 0, push: 0 };
    for (let seed = 1; seed <= 5; seed++) {
      sources.pull += swarm(seed, true, {}).summary.sourceUploadFactor / 5;
      const push = swarm(seed, true, { substreams: 4 });
      sources.push += push.summary.sourceUploadFactor / 5;
      for (const n of push.nodes.filter((x) => x.uploadFactor >= 1)) expect(n.onTime / n.due, `seed ${seed} ${n.peerId}`).toBeGreaterThanOrEqual(0.95);
      expect(push.nodes.reduce((a, n) => a + n.stats.chunksPushedIn, 0)).toBeGreaterThan(0);
    }
    // Measured: 2.36 pull, 1.80 push (means of seeds 1-5).
    expect(sources.push).toBeLessThan(sources.pull - 0.3);
  });
});
