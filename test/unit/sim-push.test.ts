// Pushed sub-streams in the simulator (docs/live-push.md): the namespace shaped-swarm benchmark's
// swarm (8 boxes, 0.8 Mbit/s in 1 s chunks, unpaced serving as real nodes serve), on unshaped links
// and behind its shaped uplinks: pull only (substreams 0), the source pushing (the defaults), and
// every node pushing (pushUploadPct 80).
import { describe, expect, it } from 'vitest';
import type { LiveConfig } from '../../src/engine/live-config.js';
import { runLiveScenario } from '../../src/sim/live-scenario.js';
import { shapedLabScenario } from '../../src/sim/shaped-lab.js';

const PULL: Partial<LiveConfig> = { substreams: 0 };
const EVERYONE: Partial<LiveConfig> = { substreams: 4, pushUploadPct: 80 };

function swarm(seed: number, shaped: boolean, live: Partial<LiveConfig>) {
  return runLiveScenario(shapedLabScenario(seed, { shaped, live }));
}

describe('simulator: pushed sub-streams', () => {
  it('unshaped, every node pushing: every box plays every chunk, nearly all of them pushed, and the source uploads about one copy (pull alone: 1.4)', () => {
    const pull = swarm(1, false, PULL);
    const push = swarm(1, false, EVERYONE);
    expect(pull.summary.sourceUploadFactor).toBeGreaterThan(1.3);
    expect(push.summary.sourceUploadFactor).toBeLessThan(1.2);
    for (const n of push.nodes) {
      expect(n.onTime / n.due, `${n.peerId} continuity`).toBe(1);
      expect(n.stats.chunksPushedIn / n.stats.chunksStored, `${n.peerId} pushed share`).toBeGreaterThan(0.9);
      expect(n.stats.badChunks).toBe(0);
    }
  });

  it('the defaults (only the source pushes), unshaped: every box plays every chunk and the source uploads less than pull alone', () => {
    const pull = swarm(1, false, PULL);
    const push = swarm(1, false, {});
    for (const n of push.nodes) expect(n.onTime / n.due, `${n.peerId} continuity`).toBe(1);
    expect(push.nodes.reduce((a, n) => a + n.stats.chunksPushedIn, 0)).toBeGreaterThan(0);
    // Measured (seeds 1-10): 1.11x against 1.39x.
    expect(push.summary.sourceUploadFactor).toBeLessThan(pull.summary.sourceUploadFactor - 0.15);
  });

  it('behind shaped uplinks (seeds 1-5): the defaults keep boxes with >= 1x uplinks at >= 0.98 and lower the source upload of pull alone; every node pushing keeps >= 0.92', () => {
    const sources = { pull: 0, source: 0, everyone: 0 };
    for (let seed = 1; seed <= 5; seed++) {
      sources.pull += swarm(seed, true, PULL).summary.sourceUploadFactor / 5;
      const byDefault = swarm(seed, true, {});
      sources.source += byDefault.summary.sourceUploadFactor / 5;
      for (const n of byDefault.nodes.filter((x) => x.uploadFactor >= 1)) expect(n.onTime / n.due, `defaults, seed ${seed} ${n.peerId}`).toBeGreaterThanOrEqual(0.98);
      const everyone = swarm(seed, true, EVERYONE);
      sources.everyone += everyone.summary.sourceUploadFactor / 5;
      for (const n of everyone.nodes.filter((x) => x.uploadFactor >= 1)) expect(n.onTime / n.due, `everyone, seed ${seed} ${n.peerId}`).toBeGreaterThanOrEqual(0.92);
      expect(everyone.nodes.reduce((a, n) => a + n.stats.chunksPushedIn, 0)).toBeGreaterThan(0);
    }
    // Measured (means of seeds 1-5): pull 2.36x, the defaults about 1.8x, every node pushing 1.80x.
    expect(sources.source).toBeLessThan(sources.pull - 0.2);
    expect(sources.everyone).toBeLessThan(sources.pull - 0.3);
  });
});
