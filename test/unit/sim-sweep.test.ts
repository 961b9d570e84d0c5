// The seed sweep's short run for every submission (docs/simulator.md): seeds 1..40 of
// scripts/sim-sweep.ts. The safety invariants must hold on every seed; the continuity floor is a
// regression guard: today's engine keeps it on 27 of these 40 seeds (the others are the unpaced-serving
// and NAT weaknesses the sweep found, listed in docs/simulator.md), and the test fails when more than
// FLOOR_FAILURES_MAX miss it. Lower the bound as the engine improves.
import { describe, expect, it } from 'vitest';
import { runSweepCase, sweepCase, type SweepOutcome } from '../../src/sim/sweep.js';

const SEEDS = Array.from({ length: 40 }, (_, i) => i + 1);
const SAFETY = ['no-exception', 'no-unverified-stored', 'no-unverified-played', 'played-in-order', 'buffer-within-budget', 'chunk-counters'];
/** Seeds of 1..40 whose continuity floor fails today (13, down from 18 before late chunks were stored and
 * the source pushed its sub-streams), plus a margin of 2 for the
 * run-to-run spread an unrelated engine change causes in these chaotic swarms. */
const FLOOR_FAILURES_MAX = 15;

describe('simulator seed sweep (short)', () => {
  const outcomes: SweepOutcome[] = [];

  it('holds every safety invariant on seeds 1..40: nothing unverified stored or played, in order, buffers within budget, counters add up, no exception', { timeout: 300_000 }, () => {
    for (const seed of SEEDS) outcomes.push(runSweepCase(sweepCase(seed)));
    const broken = outcomes.flatMap((o) =>
      o.violations.filter((v) => SAFETY.includes(v.invariant)).map((v) => `seed ${o.seed} ${v.invariant}: ${v.detail.split('\n')[0]} (replay: npx tsx scripts/sim-sweep.ts --seed ${o.seed} -v)`),
    );
    expect(broken).toEqual([]);
  });

  it(`keeps the continuity floor on all but at most ${FLOOR_FAILURES_MAX} of the 40 seeds`, () => {
    expect(outcomes.length).toBe(SEEDS.length);
    const below = outcomes.filter((o) => o.violations.some((v) => v.invariant === 'continuity-floor' || v.invariant === 'every-viewer-plays'));
    const listing = below.map((o) => `${o.seed} (${o.description})`).join('\n');
    expect(below.length, `seeds below the floor:\n${listing}`).toBeLessThanOrEqual(FLOOR_FAILURES_MAX);
  });
});
