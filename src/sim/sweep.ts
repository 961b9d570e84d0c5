// Randomized small live swarms for the seed sweep (scripts/sim-sweep.ts, docs/simulator.md): from one
// seed, the swarm's size, stream, upload mix, churn, liars and field faults (NAT share, loss, bounded
// send queues, access latency, pauses, a partition), then the run and its invariants. The same seed
// gives the same swarm and the same run, so a failing seed replays exactly.
import { checkInvariants, type Violation } from './invariants.js';
import { runLiveScenario, type LiveScenario, type ScenarioSummary, type UploadClass } from './live-scenario.js';
import { SeededRandom } from './seeded-random.js';

export interface SweepCase {
  seed: number;
  scenario: LiveScenario;
  continuityFloor: number;
  /** One line: what the seed drew. */
  description: string;
}

export interface SweepOutcome {
  seed: number;
  description: string;
  violations: Violation[];
  summary: ScenarioSummary | undefined;
  realMs: number;
}

/** Upload mixes, each averaging at least 1.4× the stream; the last class of some is below 1×. */
const MIXES: Array<{ name: string; classes: UploadClass[] }> = [
  { name: 'uniform 2×', classes: [{ share: 1, factor: 2 }] },
  { name: '3×/1.5×/0.8×', classes: [{ share: 0.3, factor: 3 }, { share: 0.5, factor: 1.5 }, { share: 0.2, factor: 0.8 }] },
  { name: '2.5×/1.2×', classes: [{ share: 0.4, factor: 2.5 }, { share: 0.6, factor: 1.2 }] },
  { name: '4×/1×/0.5×', classes: [{ share: 0.3, factor: 4 }, { share: 0.4, factor: 1 }, { share: 0.3, factor: 0.5 }] },
];

/** What the seed draws. Faults are each present with some probability, so most runs combine a few. */
export function sweepCase(seed: number): SweepCase {
  const r = new SeededRandom(seed ^ 0x5eed);
  const pickOf = <T>(xs: readonly T[]): T => xs[r.int(xs.length)] as T;
  const chance = (p: number) => r.next() < p;
  const nodes = 4 + r.int(37);
  const streamBps = pickOf([400_000, 800_000, 1_000_000]);
  const chunkMs = pickOf([250, 500]);
  const mix = pickOf(MIXES);
  const durationMs = 90_000;
  const churn = chance(0.3) ? 0.05 + 0.1 * r.next() : 0;
  const liars = nodes >= 10 && chance(0.2) ? 1 + r.int(2) : 0;
  const natShare = chance(0.4) ? Math.round(50 * r.next()) / 100 : 0;
  const lossRate = chance(0.3) ? Math.round(300 * r.next()) / 10_000 : 0;
  const queueBytes = chance(0.4) ? pickOf([256 * 1024, 1024 * 1024, 4 * 1024 * 1024]) : Infinity;
  const latency = chance(0.5) ? { min: 2, max: 10 + r.int(60) } : undefined;
  const pauses = chance(0.25) ? { fromMs: 30_000, everyMs: 20_000, fraction: 0.1, durationMs: 1000 + r.int(8000) } : undefined;
  const partition = chance(0.2) ? [{ atMs: 40_000 + r.int(20_000), durationMs: 3000 + r.int(15_000), fraction: 0.1 + 0.3 * r.next() }] : undefined;
  const sourceUploadFactor = pickOf([3, 4, 6]);
  const scenario: LiveScenario = {
    seed,
    nodes,
    streamBps,
    durationMs,
    arrivalStartMs: 2000,
    arrivalWindowMs: 1000 + r.int(20_000),
    measureFromMs: 40_000,
    upload: mix.classes,
    sourceUploadFactor,
    churnPerMinute: churn,
    churnStartMs: 30_000,
    liars,
    pacingPct: chance(0.5) ? 0 : 95,
    checkPlayed: true,
    live: { chunkMs },
    network: { lossRate, connectionQueueBytes: queueBytes },
    faults: { natShare, accessLatencyMs: latency, pauses, partitions: partition },
  };
  const parts = [
    `${nodes} nodes`,
    `${streamBps / 1000} kbit/s ${chunkMs} ms chunks`,
    `upload ${mix.name}`,
    `source ${sourceUploadFactor}×`,
    scenario.pacingPct === 0 ? 'unpaced' : 'paced',
    churn > 0 ? `churn ${(100 * churn).toFixed(0)}%/min` : '',
    liars > 0 ? `${liars} liars` : '',
    natShare > 0 ? `NAT ${(100 * natShare).toFixed(0)}%` : '',
    lossRate > 0 ? `loss ${(100 * lossRate).toFixed(1)}%` : '',
    Number.isFinite(queueBytes) ? `queue ${queueBytes / 1024} KiB` : '',
    latency ? `latency ${latency.min}-${latency.max} ms` : '',
    pauses ? `pauses ${pauses.durationMs} ms` : '',
    partition ? `partition ${(partition[0]?.durationMs ?? 0) / 1000} s` : '',
  ];
  return { seed, scenario, continuityFloor: 0.95, description: parts.filter(Boolean).join(', ') };
}

/** Runs one seed; an exception is a violation too. */
export function runSweepCase(c: SweepCase): SweepOutcome {
  const started = Date.now();
  try {
    const result = runLiveScenario(c.scenario);
    const violations = checkInvariants(c.scenario, result, { continuityFloor: c.continuityFloor });
    return { seed: c.seed, description: c.description, violations, summary: result.summary, realMs: Date.now() - started };
  } catch (err) {
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    return { seed: c.seed, description: c.description, violations: [{ invariant: 'no-exception', detail }], summary: undefined, realMs: Date.now() - started };
  }
}
