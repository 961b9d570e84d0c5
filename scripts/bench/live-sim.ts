// Live streaming in the simulator (measures: docs/live-sim.md): a 1 Mbit/s channel, heterogeneous upload
// averaging 1.2x the stream rate, 2,000 nodes with 10% churn per minute over several minutes of
// virtual time, plus N = 10 / 50 / 100 / 500 without churn. Figures cover the steady part of each
// run (from measureFromMs on); see src/sim/live-scenario.ts for how each is computed.
//
//   npx tsx scripts/bench/live-sim.ts              (all rows; the 2,000-node row takes minutes)
//   npx tsx scripts/bench/live-sim.ts --only 100   (one row)
//   npx tsx scripts/bench/live-sim.ts --extreme    (adds a 2,000-node row with a harsher upload mix)
//   npx tsx scripts/bench/live-sim.ts --huge       (adds a 10,000-node row, 60 s virtual: the simulator's speed)
//   npx tsx scripts/bench/live-sim.ts --unpaced    (every row with unpaced serving, as real nodes serve)
//   npx tsx scripts/bench/live-sim.ts --chunk-ms 500  (another chunk duration; default: the product's)
//   npx tsx scripts/bench/live-sim.ts --only 100 --set live.bufferMapFullMs=0 --set engine.membershipPartnerPeriodMs=1000
//                                                 (tunables for every row: an A/B against the defaults)
//
// Writes bench-results/live-sim.json and bench-results/live-sim.svg (with --set: live-sim-set.*, or
// --out NAME: NAME.*, so an experiment does not overwrite the committed figures).
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from '../../src/engine/engine-config.js';
import { DEFAULT_LIVE_CONFIG, type LiveConfig } from '../../src/engine/live-config.js';
import { arg } from './lib/bench-args.js';
import { runLiveScenario, type LiveScenario, type ScenarioSummary, type UploadClass } from '../../src/sim/live-scenario.js';
import { lineChart } from './lib/plot.js';
import { machineInfo, printTable, writePlot, writeResult } from './lib/report.js';

const STREAM_BPS = 1_000_000;

/** `--set live.name=N` / `--set engine.name=N` (numbers), for every row. */
function sets(group: 'live' | 'engine'): Record<string, number> {
  const out: Record<string, number> = {};
  process.argv.forEach((a, i) => {
    if (a !== '--set') return;
    const m = /^(live|engine)\.([A-Za-z]+)=(-?[0-9.]+)$/.exec(process.argv[i + 1] ?? '');
    if (!m) throw new Error(`--set takes live.NAME=NUMBER or engine.NAME=NUMBER (got ${process.argv[i + 1]})`);
    const known = m[1] === 'live' ? DEFAULT_LIVE_CONFIG : DEFAULT_ENGINE_CONFIG;
    if (!((m[2] as string) in known)) throw new Error(`--set: ${m[1]}.${m[2]} is no tunable`);
    if (m[1] === group) out[m[2] as string] = Number(m[3]);
  });
  return out;
}
const OUT = arg('out', process.argv.includes('--set') ? 'live-sim-set' : 'live-sim');
const chunkArg = process.argv.indexOf('--chunk-ms');
const CHUNK_MS = chunkArg >= 0 ? Number(process.argv[chunkArg + 1]) : DEFAULT_LIVE_CONFIG.chunkMs;
/**
 * Live tunables of the runs (the rest are DEFAULT_LIVE_CONFIG): the product's chunks (250 ms; the
 * committed figures until 2026-12-06 used 0.5 s), an 8 s prebuffer, and a window of 2 minutes.
 */
const LIVE: Partial<LiveConfig> = { chunkMs: CHUNK_MS, prebufferMs: 8000, windowChunksMax: Math.ceil(120_000 / CHUNK_MS), ...sets('live') };

/**
 * Partners of every node (the real node's default is 4..8): with upload this close to the stream
 * rate a chunk spreads only as fast as its holders are asked for it, and 4..8 partners per node let
 * N = 500 collapse (continuity 0.82-0.89, lag growing; see docs/live-sim.md).
 */
const ENGINE: Partial<EngineConfig> = { minPartners: 8, maxPartners: 16, ...sets('engine') };
/** Average 1.2x: 20% at 2x (partners in proportion to the uplink: they can feed more), 50% at 1.1x, 30% at 0.85x. */
const MIX: UploadClass[] = [
  { share: 0.2, factor: 2, engine: { minPartners: 12, maxPartners: 24 } },
  { share: 0.5, factor: 1.1 },
  { share: 0.3, factor: 0.85 },
];
/** Harsher, same 1.2x average: 20% at 3x, 30% at 1x, 50% at 0.6x. */
const EXTREME_MIX: UploadClass[] = [
  { share: 0.2, factor: 3, engine: { minPartners: 16, maxPartners: 32 } },
  { share: 0.3, factor: 1 },
  { share: 0.5, factor: 0.6 },
];

interface Row {
  name: string;
  scenario: LiveScenario;
}

/** What every row shares: seed, stream, arrivals from 3 s, the upload mix, engine and live tunables. */
function scenario(nodes: number, upload: UploadClass[], run: Partial<LiveScenario>): LiveScenario {
  return { seed: 2026, nodes, streamBps: STREAM_BPS, durationMs: 180_000, arrivalStartMs: 3000, arrivalWindowMs: 30_000, upload, engine: ENGINE, live: LIVE, ...run };
}

const steady = (nodes: number, upload: UploadClass[]): LiveScenario =>
  scenario(nodes, upload, { measureFromMs: 60_000, arrivalWindowMs: Math.min(30_000, 200 * nodes) });

const churned = (nodes: number, upload: UploadClass[]): LiveScenario =>
  scenario(nodes, upload, { durationMs: 300_000, measureFromMs: 150_000, arrivalWindowMs: 60_000, churnPerMinute: 0.1, churnStartMs: 60_000 });

function rows(args: string[]): Row[] {
  const all: Row[] = [10, 50, 100, 500].map((n) => ({ name: `N=${n}`, scenario: steady(n, MIX) }));
  all.push({ name: 'N=2000 churn 10%/min', scenario: churned(2000, MIX) });
  if (args.includes('--huge')) all.push({ name: 'N=10000, 60 s', scenario: scenario(10_000, MIX, { durationMs: 60_000, measureFromMs: 40_000 }) });
  if (args.includes('--extreme')) all.push({ name: 'N=2000 churn, harsh mix', scenario: churned(2000, EXTREME_MIX) });
  if (args.includes('--unpaced')) for (const r of all) r.scenario.pacingPct = 0;
  const only = args.indexOf('--only');
  if (only >= 0) {
    const n = Number(args[only + 1]);
    return all.filter((r) => r.scenario.nodes === n);
  }
  return all;
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
const ms = (x: number | null): string => (x === null ? '-' : (x / 1000).toFixed(2));

function tableRow(name: string, s: ScenarioSummary, durationMs: number): Record<string, string | number> {
  return {
    run: name,
    nodes: s.nodesRun,
    'cont mean': s.continuityMean.toFixed(4),
    'cont p5': s.continuityP5.toFixed(4),
    'cont min': s.continuityMin.toFixed(4),
    'never played': s.nodesNeverPlayed,
    'startup p50 s': ms(s.startupP50Ms),
    'startup p95 s': ms(s.startupP95Ms),
    'lag p50 s': ms(s.lagP50Ms),
    'lag p95 s': ms(s.lagP95Ms),
    'lag run p95 s': ms(s.lagRunP95Ms),
    'src upload x': s.sourceUploadFactor.toFixed(2),
    'ctl ovh': pct(s.controlOverhead),
    'net ctl ovh': pct(s.networkControlOverhead),
    'rebuf/node': s.rebuffersMean.toFixed(2),
    'bad det/stored': `${s.badChunksDetected}/${s.badChunksStored}`,
    'real s': (s.realMs / 1000).toFixed(0),
    'x real time': (s.realMs > 0 ? durationMs / s.realMs : 0).toFixed(2),
    'node-s/s': (s.realMs > 0 ? (1000 * s.nodeSeconds) / s.realMs : 0).toFixed(0),
  };
}

/** Continuity (%) and lag / startup (s) against N: one series per figure, N on the x axis. */
function plot(results: Array<{ scenario: LiveScenario; summary: ScenarioSummary }>): string {
  const series = (name: string, f: (s: ScenarioSummary) => number | null): { name: string; points: [number, number][] } => ({
    name,
    points: results.flatMap((r) => {
      const v = f(r.summary);
      return v === null ? [] : [[r.scenario.nodes, v] as [number, number]];
    }),
  });
  return lineChart({
    title: 'Simulated live swarm, 1 Mbit/s, upload 1.2x on average (N=2000: 10%/min churn)',
    xLabel: 'nodes (N)',
    yLabel: 'continuity % (mean, p5) / lag, startup (s)',
    series: [
      series('continuity mean %', (s) => 100 * s.continuityMean),
      series('continuity p5 %', (s) => 100 * s.continuityP5),
      series('lag p50 s', (s) => (s.lagP50Ms === null ? null : s.lagP50Ms / 1000)),
      series('lag p95 s', (s) => (s.lagP95Ms === null ? null : s.lagP95Ms / 1000)),
      series('startup p50 s', (s) => (s.startupP50Ms === null ? null : s.startupP50Ms / 1000)),
    ],
  });
}

function main(): void {
  const selected = rows(process.argv.slice(2));
  const results: Array<{ name: string; scenario: LiveScenario; summary: ScenarioSummary }> = [];
  for (const r of selected) {
    process.stderr.write(`running ${r.name} (${r.scenario.durationMs / 1000} s virtual)...\n`);
    const { summary } = runLiveScenario(r.scenario);
    results.push({ name: r.name, scenario: r.scenario, summary });
    process.stderr.write(`  done in ${(summary.realMs / 1000).toFixed(0)} s real\n`);
  }
  printTable(results.map((r) => tableRow(r.name, r.summary, r.scenario.durationMs)));
  console.log(
    'continuity: chunks on time / due in the measured interval (per node: mean, 5th percentile, min);' +
      ' never played: nodes that ran 10 s without a chunk falling due (counted as continuity 0);' +
      ' lag: source timestamp -> hand-over to the player of the last chunk, over live nodes at the end' +
      ' (lag run p95: p95 over nodes of their own p95 over the whole run, startup catch-up included);' +
      ' ctl ovh: data-plane control bytes / data-plane bytes; net ctl ovh: all non-chunk bytes / all bytes.',
  );
  for (const r of results) {
    const parts = Object.entries(r.summary.networkControlByType).sort((a, b) => b[1] - a[1]).filter(([, f]) => f >= 0.0005);
    console.log(`${r.name} net ctl ovh by message: ${parts.map(([t, f]) => `${t} ${pct(f)}`).join(', ')}`);
  }
  const file = writeResult(OUT, {
    machine: machineInfo(),
    streamBps: STREAM_BPS,
    live: { ...DEFAULT_LIVE_CONFIG, ...LIVE },
    engine: ENGINE,
    uploadMix: MIX,
    results: results.map((r) => ({ name: r.name, scenario: { ...r.scenario, upload: r.scenario.upload }, summary: r.summary })),
  });
  const svg = writePlot(OUT, plot(results));
  console.log(`wrote ${file} and ${svg}`);
}

main();
