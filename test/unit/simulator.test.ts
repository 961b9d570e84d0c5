import { describe, expect, it } from 'vitest';
import { Simulator, SIM_TRACKER_ID } from '../../src/sim/simulator.js';
import type { EngineSnapshot } from '../../src/engine/engine-stats.js';

const CONTENT = 'channel-1';

function partnersOf(snap: EngineSnapshot): string[] {
  return snap.contents.find((c) => c.id === CONTENT)?.partners ?? [];
}

/** Nodes reachable from `start` in an undirected graph. */
function reachable(graph: Map<string, Set<string>>, start: string): Set<string> {
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length > 0) {
    const id = queue.shift() as string;
    for (const next of graph.get(id) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

/** Directed partner entries whose other end does not list us back. */
function asymmetricEdges(snaps: EngineSnapshot[]): number {
  const byId = new Map(snaps.map((s) => [s.peerId, new Set(partnersOf(s))]));
  let asym = 0;
  for (const s of snaps) for (const p of partnersOf(s)) if (!byId.get(p)?.has(s.peerId)) asym++;
  return asym;
}

describe('simulator: 1,000 peers on one live channel', () => {
  it('joins everyone with partners in [M, Mmax], a connected overlay and tracker redirects', () => {
    const sim = new Simulator({ seed: 20261101, nodes: 1000, arrivalWindowMs: 20_000 });
    const { minPartners: M, maxPartners: Mmax } = sim.config;
    sim.runUntil(50_000); // arrivals over ~20 s, then 30 s more

    const live = sim.livePeers();
    expect(live).toHaveLength(1000);
    const snaps = sim.snapshots();
    expect(snaps).toHaveLength(1001);
    for (const s of snaps) {
      const n = partnersOf(s).length;
      expect(n, `${s.peerId} has ${n} partners`).toBeGreaterThanOrEqual(M);
      expect(n, `${s.peerId} has ${n} partners`).toBeLessThanOrEqual(Mmax);
      expect(s.contents.find((c) => c.id === CONTENT)?.join).toBe('joined');
    }
    // Partnerships are mutual (both ends agree).
    expect(asymmetricEdges(snaps)).toBe(0);

    const graph = sim.partnerGraph(CONTENT);
    expect(graph.size).toBe(1001);
    expect(reachable(graph, SIM_TRACKER_ID).size).toBe(1001);

    // Load balancing: once redirectThreshold members exist, newcomers go to deputies.
    const t = sim.tracker.snapshot().tracker;
    expect(t.joins).toBeGreaterThanOrEqual(1000);
    expect(t.redirects).toBeGreaterThan(0.8 * 1000);
    expect(t.contents.find((c) => c.id === CONTENT)?.members).toBe(1000);
    const followed = snaps.reduce((n, s) => n + s.stats.redirectsFollowed, 0);
    expect(followed).toBe(t.redirects);
    // The tracker is a peer too, but it is not everybody's partner.
    expect(partnersOf(snaps[0] as EngineSnapshot).length).toBeLessThanOrEqual(Mmax);
    // How fast the simulator runs is measured by scripts/bench/live-sim.ts, not asserted here.
  });

  it('churn: survivors forget killed peers within memberTtlMs and refill to >= M', () => {
    // Boxes announce to the tracker every 4 s here, so its registry (2.5 periods) forgets the killed
    // within memberTtlMs like everyone else (the default announces every few minutes).
    const sim = new Simulator({ seed: 424242, nodes: 1000, arrivalWindowMs: 20_000, engine: { trackerAnnouncePeriodMs: 4000 } });
    const { minPartners: M, maxPartners: Mmax, memberTtlMs, membershipPeriodMs } = sim.config;
    sim.runUntil(35_000);
    const killedAt = sim.now;
    const victims = new Set(sim.killFraction(0.1));
    expect(victims.size).toBe(100);
    // Newcomers arrive while the tracker may still hand out dead deputies and members.
    const newcomers = Array.from({ length: 20 }, (_, i) => sim.spawn(killedAt + 1000 + i * 250));

    // Shortly after the kill the victims are still widely known (the check below is not vacuous).
    sim.runUntil(killedAt + 1000);
    const knowsVictim = (ids: string[]): boolean => ids.some((id) => victims.has(id));
    const stillKnowing = sim.livePeers().filter((p) => knowsVictim(p.engine!.knownMembers().map((m) => m.peerId)));
    expect(stillKnowing.length).toBeGreaterThan(500);

    sim.runUntil(killedAt + memberTtlMs + membershipPeriodMs);
    for (const p of sim.livePeers()) {
      const stale = p.engine!.knownMembers().filter((m) => victims.has(m.peerId)).map((m) => m.peerId);
      expect(stale, `${p.peerId} still knows killed peers`).toEqual([]);
    }
    expect(knowsVictim(sim.tracker.peer.knownMembers().map((m) => m.peerId))).toBe(false);
    expect(knowsVictim(sim.tracker.members(CONTENT).map((m) => m.peerId))).toBe(false);

    sim.runUntil(killedAt + 25_000);
    const snaps = sim.snapshots();
    expect(snaps).toHaveLength(1 + 900 + newcomers.length);
    for (const s of snaps) {
      const partners = partnersOf(s);
      expect(partners.length, `${s.peerId} has ${partners.length} partners`).toBeGreaterThanOrEqual(M);
      expect(partners.length).toBeLessThanOrEqual(Mmax);
      expect(partners.filter((id) => victims.has(id))).toEqual([]);
    }
    expect(asymmetricEdges(snaps)).toBe(0);
    const graph = sim.partnerGraph(CONTENT);
    expect(reachable(graph, SIM_TRACKER_ID).size).toBe(graph.size);
    const lost = snaps.reduce((n, s) => n + s.stats.partnersLostDisconnect, 0);
    expect(lost).toBeGreaterThan(100); // the victims' partners noticed through the transport
    for (const n of newcomers) expect(n.engine?.snapshot().contents[0]?.join).toBe('joined');
  });

  it('is deterministic for a seed', () => {
    const run = (): string => {
      const sim = new Simulator({ seed: 99, nodes: 150, arrivalWindowMs: 5000 });
      sim.runUntil(15_000);
      return JSON.stringify(sim.snapshots().map((s) => [s.peerId, partnersOf(s), s.members]));
    };
    expect(run()).toBe(run());
  });
});
