// The field's faults for a live scenario (docs/simulator.md): which viewers sit behind a NAT, their
// access latency, and the pauses and partitions scheduled over the run. Everything is drawn from the
// simulator's seeded random, so a scenario replays exactly. The network-level faults (bounded send
// queues, loss) are SimNetworkConfig fields, set through the scenario's `network`.
import type { SimLinkOptions } from './sim-network.js';
import type { Simulator } from './simulator.js';

export interface ScenarioFaults {
  /** Share of viewers behind a NAT: they can only dial out. */
  natShare?: number;
  /** Access latency of each viewer, drawn uniformly in [min, max] ms (both 0 by default). */
  accessLatencyMs?: { min: number; max: number };
  /** Every `everyMs` from `fromMs`, a `fraction` of the live viewers stop (SIGSTOP) for `durationMs`. */
  pauses?: { fromMs: number; everyMs: number; fraction: number; durationMs: number };
  /** At `atMs`, a `fraction` of the live viewers are cut off from everyone else for `durationMs`. */
  partitions?: Array<{ atMs: number; durationMs: number; fraction: number }>;
}

/** Per-index links: NAT'd viewers spread over the indices (×53 mod 100), latency from the index. */
export function linkOf(faults: ScenarioFaults | undefined, index: number): Omit<SimLinkOptions, 'uploadBps'> | undefined {
  if (!faults) return undefined;
  const nat = faults.natShare !== undefined && (index * 53) % 100 < Math.round(faults.natShare * 100);
  const lat = faults.accessLatencyMs;
  // A fixed per-index spread (golden-ratio sequence): no random draw, so it does not shift the run.
  const frac = (index * 0.6180339887) % 1;
  return { reachable: !nat, accessLatencyMs: lat ? lat.min + frac * (lat.max - lat.min) : 0 };
}

/**
 * Schedules the pauses and partitions on `sim` until `untilMs`; returns the set that fills with the
 * ids of every viewer a fault touched (they are judged apart: a paused or cut-off viewer cannot play).
 */
export function scheduleFaults(sim: Simulator, faults: ScenarioFaults | undefined, untilMs: number): Set<string> {
  const touched = new Set<string>();
  if (!faults) return touched;
  const pick = (fraction: number): string[] => {
    const live = sim.livePeers();
    const count = Math.max(1, Math.round(live.length * fraction));
    const out: string[] = [];
    for (let i = 0; i < count && i < live.length; i++) {
      const j = i + sim.random.int(live.length - i);
      const chosen = live[j] as (typeof live)[number];
      live[j] = live[i] as (typeof live)[number];
      live[i] = chosen;
      out.push(chosen.peerId);
    }
    return out;
  };
  const p = faults.pauses;
  if (p && p.everyMs > 0 && p.fraction > 0) {
    for (let t = p.fromMs; t < untilMs; t += p.everyMs) {
      sim.at(t, () => {
        for (const id of pick(p.fraction)) {
          touched.add(id);
          sim.pause(id, p.durationMs);
        }
      });
    }
  }
  for (const part of faults.partitions ?? []) {
    sim.at(part.atMs, () => {
      const cut = pick(part.fraction);
      for (const id of cut) touched.add(id);
      sim.network.partition([cut]);
      sim.at(part.atMs + part.durationMs, () => sim.network.heal());
    });
  }
  return touched;
}
