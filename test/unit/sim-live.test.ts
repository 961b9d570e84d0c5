import { describe, expect, it } from 'vitest';
import { runLiveScenario } from '../../src/sim/live-scenario.js';
import { Simulator } from '../../src/sim/simulator.js';
import { patternData, PatternVerifier } from '../../src/sim/live-pattern.js';

const STREAM_BPS = 1_000_000;

describe('simulator: live data plane', () => {
  it('100 nodes at 2x the stream rate, 60 s, 5 liars: continuity >= 0.99 everywhere, no bad chunk stored', () => {
    const started = Date.now();
    const { summary, nodes, sim } = runLiveScenario({
      // With 0.5 s chunks seeds 1-6 put 0-6 nodes at 0.979-0.989 (the bar sat at the edge of the
      // seed's luck); with the product's 250 ms chunks every node of seeds 1-6 is at 0.990 or above.
      seed: 4,
      nodes: 100,
      streamBps: STREAM_BPS,
      durationMs: 60_000,
      arrivalStartMs: 3000,
      arrivalWindowMs: 10_000,
      upload: [{ share: 1, factor: 2 }],
      liars: 5,
      // The product's 250 ms chunks (31 kB): per-hop transfer at 2 Mbit/s stays short next to the prebuffer.
      live: { chunkMs: 250, prebufferMs: 5000 },
    });
    const honest = nodes.filter((n) => !n.liar);
    expect(honest).toHaveLength(95);
    for (const n of honest) {
      expect(n.stats.chunksDue, `${n.peerId} played`).toBeGreaterThan(160);
      expect(n.stats.continuityIndex, `${n.peerId} continuity`).toBeGreaterThanOrEqual(0.99);
      expect(n.stats.startupDelayMs, `${n.peerId} started`).not.toBeNull();
    }
    // Liars were caught (and each victim dropped them) but nothing they sent was kept.
    expect(summary.badChunksDetected).toBeGreaterThan(0);
    expect(summary.badChunksStored).toBe(0);
    for (const n of honest) {
      const buffer = sim.peer(n.peerId)?.live?.bufferOf(sim.contentId);
      if (!buffer) throw new Error(`${n.peerId} has no buffer for the channel`);
      expect(buffer.bytes, `${n.peerId} buffer within its cap`).toBeLessThanOrEqual(buffer.maxBytes);
    }
    expect(summary.controlOverhead).toBeLessThan(0.02);
    expect(summary.startupP50Ms).toBeLessThan(2000);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('survives churn: 10% of the nodes replaced per minute, newcomers start and play', () => {
    const { summary, nodes } = runLiveScenario({
      seed: 7,
      nodes: 100,
      streamBps: STREAM_BPS,
      durationMs: 90_000,
      arrivalStartMs: 3000,
      arrivalWindowMs: 10_000,
      upload: [{ share: 1, factor: 2 }],
      churnPerMinute: 0.1,
      churnStartMs: 30_000,
      measureFromMs: 40_000,
      live: { chunkMs: 500, prebufferMs: 5000 },
    });
    expect(summary.killed).toBeGreaterThanOrEqual(9);
    const newcomers = nodes.filter((n) => n.joinAt >= 30_000 && n.joinAt < 80_000);
    expect(newcomers.length).toBeGreaterThanOrEqual(8);
    for (const n of newcomers) expect(n.stats.startupDelayMs, `${n.peerId} started`).not.toBeNull();
    expect(summary.nodesNeverPlayed, 'nodes that ran 10 s without playing').toBe(0);
    expect(summary.continuityMean).toBeGreaterThanOrEqual(0.98);
  });

  it('heterogeneous upload averaging 1.2x the stream rate (20% 2x, 50% 1.1x, 30% 0.85x), 10%/min churn: continuity >= 0.98 for 95% of nodes, none below 0.9', () => {
    const { summary, nodes } = runLiveScenario({
      // With 0.5 s chunks seeds 11-14 gave p5 continuity 0.972-0.974 once a source's pushed copy
      // counted against its budget; with the product's 250 ms chunks 0.991-0.996.
      seed: 12,
      nodes: 100,
      streamBps: STREAM_BPS,
      durationMs: 100_000,
      arrivalStartMs: 3000,
      arrivalWindowMs: 15_000,
      // As scripts/bench/live-sim.ts: partners in proportion to the uplink.
      upload: [
        { share: 0.2, factor: 2, engine: { minPartners: 12, maxPartners: 24 } },
        { share: 0.5, factor: 1.1 },
        { share: 0.3, factor: 0.85 },
      ],
      engine: { minPartners: 8, maxPartners: 16 },
      churnPerMinute: 0.1,
      churnStartMs: 30_000,
      measureFromMs: 40_000,
      liars: 3,
      live: { chunkMs: 250, prebufferMs: 8000, windowChunksMax: 480 },
    });
    expect(summary.killed).toBeGreaterThanOrEqual(9);
    expect(summary.nodesMeasured).toBeGreaterThanOrEqual(90);
    expect(summary.nodesNeverPlayed, 'nodes that ran 10 s without playing').toBe(0);
    expect(summary.continuityMean).toBeGreaterThanOrEqual(0.98);
    expect(summary.continuityP5).toBeGreaterThanOrEqual(0.98);
    expect(summary.continuityMin).toBeGreaterThanOrEqual(0.9);
    // The swarm keeps up with the source: lag stays bounded instead of growing with every skip.
    expect(summary.lagP95Ms).not.toBeNull();
    expect(summary.lagP95Ms as number).toBeLessThan(20_000);
    // Every chunk the nodes uploaded beyond one copy came from the mesh, not the source.
    expect(summary.sourceUploadFactor).toBeLessThan(4);
    // Liars were caught, nothing they sent was kept.
    expect(summary.badChunksDetected).toBeGreaterThan(0);
    expect(summary.badChunksStored).toBe(0);
    // Newcomers still there at the end (one killed seconds after arriving may not have started).
    const newcomers = nodes.filter((n) => n.joinAt >= 30_000 && n.joinAt < 90_000 && n.alive && !n.liar);
    expect(newcomers.length).toBeGreaterThanOrEqual(8);
    for (const n of newcomers) expect(n.stats.startupDelayMs, `${n.peerId} started`).not.toBeNull();
  });

  it('the pattern verifier accepts real chunks and catches corrupted ones', () => {
    const v = new PatternVerifier(10_000);
    const data = patternData(42, 10_000);
    expect(v.verify('c', { id: 42, timestampMs: 0, signature: new Uint8Array(0), data })).toBe(true);
    expect(v.verify('c', { id: 43, timestampMs: 0, signature: new Uint8Array(0), data })).toBe(false);
    const bad = data.map((b) => b ^ 0x5a);
    expect(v.verify('c', { id: 42, timestampMs: 0, signature: new Uint8Array(0), data: bad })).toBe(false);
  });

  it('stays backwards compatible: without `live` no data plane runs', () => {
    const sim = new Simulator({ seed: 3, nodes: 20, arrivalWindowMs: 2000 });
    sim.runUntil(10_000);
    expect(sim.live).toBeUndefined();
    expect(sim.livePeers().every((p) => p.live === undefined)).toBe(true);
    expect(sim.network.stats.byType.DataChunkResp ?? 0).toBe(0);
  });
});
