// The namespace shaped-swarm benchmark (scripts/bench/shaped-swarm.ts, docs/live-shaped-uplinks.md)
// rebuilt in the simulator (docs/simulator.md): a source whose uplink is 3x the stream, 8 boxes with
// uplinks of 3 .. 1.5x and one of 0.8x, 20 s warm-up then 60 s measured, 0.8 Mbit/s in 1 s chunks,
// real-node defaults (unpaced serving). Three configurations, each over several seeds:
//   before:   the serving of the first shaped measurements (1 s chunks, no send window, fixed 3 s request timeouts);
//   after:    today's defaults (250 ms chunks, send window, timeouts from each partner's measured delay,
//             the source's budget read from the requester's deadline);
//   unshaped: today's defaults with every uplink at 100x.
// Printed beside the namespace figures of the same swarm, so the simulator's link model can be judged.
//
//   npx tsx scripts/bench/shaped-sim.ts [--seeds 5]
//
// Writes bench-results/shaped-sim.json.
import { runLiveScenario, type LiveScenario } from '../../src/sim/live-scenario.js';
import { SHAPED_LAB_STREAM_BPS as STREAM_BPS, SHAPED_LAB_UPLINKS as UPLINKS, shapedLabScenario } from '../../src/sim/shaped-lab.js';
import type { LiveConfig } from '../../src/engine/live-config.js';
import { machineInfo, printTable, writeResult } from './lib/report.js';


/** The namespace runs (docs/live-shaped-uplinks.md, bench-results/shaped-swarm*.json; boxes >= 1x). */
const NAMESPACE: Record<string, { mean: number; min: number; source: number; lag: number }> = {
  before: { mean: 0.832, min: 0.76, source: 4.23, lag: 16.1 },
  after: { mean: 1.0, min: 1.0, source: 1.06, lag: 0.6 },
  unshaped: { mean: 1.0, min: 1.0, source: 1.02, lag: 0.2 },
};

const BEFORE: Partial<LiveConfig> = { chunkMs: 1000, windowChunksMax: 40, windowChunksMin: 8, sendTargetDelayMs: 0, requestTimeoutMinMs: 3000, requestTimeoutMaxMs: 3000, substreams: 0 };

function scenario(seed: number, name: string): LiveScenario {
  return shapedLabScenario(seed, { shaped: name !== 'unshaped', live: name === 'before' ? BEFORE : {} });
}

const seedsArg = process.argv.indexOf('--seeds');
const seeds = seedsArg >= 0 ? Number(process.argv[seedsArg + 1]) : 5;
const rows: Array<Record<string, string | number>> = [];
const results: Record<string, unknown> = {};
for (const name of ['before', 'after', 'unshaped']) {
  const means: number[] = [];
  const mins: number[] = [];
  const sources: number[] = [];
  const lags: number[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const r = runLiveScenario(scenario(seed, name));
    const boxes = r.nodes.filter((n) => n.uploadFactor >= 1 && n.due > 0);
    const cont = boxes.map((n) => n.onTime / n.due);
    means.push(cont.reduce((a, b) => a + b, 0) / cont.length);
    mins.push(Math.min(...cont));
    sources.push(r.summary.sourceUploadFactor);
    lags.push((r.summary.lagP50Ms ?? 0) / 1000);
  }
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const ns = NAMESPACE[name] as (typeof NAMESPACE)[string];
  rows.push({
    run: name,
    'sim continuity mean': `${avg(means).toFixed(3)} (${Math.min(...means).toFixed(3)}-${Math.max(...means).toFixed(3)})`,
    'sim min box': avg(mins).toFixed(3),
    'sim source': `${avg(sources).toFixed(2)}x`,
    'sim lag p50': `${avg(lags).toFixed(1)} s`,
    'netns mean': ns.mean.toFixed(3),
    'netns min box': ns.min.toFixed(3),
    'netns source': `${ns.source.toFixed(2)}x`,
    'netns lag': `${ns.lag.toFixed(1)} s`,
  });
  results[name] = { seeds, continuityMean: means, continuityMin: mins, sourceUploadFactor: sources, lagP50S: lags, namespace: ns };
}
printTable(rows);
writeResult('shaped-sim', { machine: machineInfo(), streamBps: STREAM_BPS, uplinks: UPLINKS, results });
