// Seed sweep of the simulator (docs/simulator.md): many small randomized live swarms with the field's
// faults, every invariant of src/sim/invariants.ts checked on each. A failing seed prints the one
// command that replays it.
//
//   npx tsx scripts/sim-sweep.ts --seeds 200            seeds 1..200
//   npx tsx scripts/sim-sweep.ts --seeds 500 --from 1000
//   npx tsx scripts/sim-sweep.ts --seed 1234 -v          replay one seed, with its figures
//
// Exit status 1 when any seed broke an invariant. A sweep writes bench-results/sim-sweep.json; a
// replay of one seed writes nothing (it would overwrite the sweep's results).
import { mkdirSync, writeFileSync } from 'node:fs';
import { runSweepCase, sweepCase, type SweepOutcome } from '../src/sim/sweep.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const verbose = process.argv.includes('-v') || process.argv.includes('--verbose');
const one = arg('--seed');
const seeds = one !== undefined ? [Number(one)] : Array.from({ length: Number(arg('--seeds') ?? 50) }, (_, i) => Number(arg('--from') ?? 1) + i);
if (seeds.some((s) => !Number.isSafeInteger(s))) {
  console.error('usage: sim-sweep.ts [--seeds N] [--from S] | --seed S [-v]');
  process.exit(2);
}

const started = Date.now();
const outcomes: SweepOutcome[] = [];
for (const seed of seeds) {
  const c = sweepCase(seed);
  const o = runSweepCase(c);
  outcomes.push(o);
  const s = o.summary;
  const figures = s ? `continuity mean ${s.continuityMean.toFixed(3)} min ${s.continuityMin.toFixed(3)}, source ${s.sourceUploadFactor.toFixed(2)}×` : 'no result';
  if (o.violations.length > 0 || verbose) {
    console.log(`seed ${seed}: ${o.violations.length === 0 ? 'ok' : 'FAILED'} (${c.description}; ${figures}; ${(o.realMs / 1000).toFixed(1)} s)`);
    for (const v of o.violations) console.log(`  ${v.invariant}: ${v.detail.split('\n').slice(0, verbose ? 20 : 3).join('\n    ')}`);
    if (o.violations.length > 0) console.log(`  replay: npx tsx scripts/sim-sweep.ts --seed ${seed} -v`);
  }
}
const failed = outcomes.filter((o) => o.violations.length > 0);
const byInvariant: Record<string, number> = {};
for (const o of failed) for (const v of o.violations) byInvariant[v.invariant] = (byInvariant[v.invariant] ?? 0) + 1;
const secs = (Date.now() - started) / 1000;
console.log(`sim-sweep: ${outcomes.length} seeds, ${failed.length} failed${failed.length ? ` (${Object.entries(byInvariant).map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}, ${secs.toFixed(0)} s`);
if (one === undefined) {
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(
    'bench-results/sim-sweep.json',
    JSON.stringify({ seeds: outcomes.length, failed: failed.map((o) => ({ seed: o.seed, description: o.description, violations: o.violations })), byInvariant, seconds: secs }, null, 2),
  );
}
process.exit(failed.length > 0 ? 1 : 0);
