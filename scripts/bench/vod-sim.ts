// The VoD benchmark's flash crowd (scripts/bench/vod.ts) in the simulator (src/sim/vod-scenario.ts):
// the same swarm, links and player behaviour in virtual time, over many seeds in a minute — what a
// scheduling change does to the first frame and the stall ratio, before it is confirmed on the
// namespace benchmark (whose single runs vary more than most changes move them).
//   npx tsx scripts/bench/vod-sim.ts [--seeds 1-8] [--viewers 10] [--stagger-ms 500] [--seed-x 3]
//       [--viewer-x 1.5] [--watch-s 60] [--duration manifest|ends|mpv]
//       [--set download.NAME=N ...] [--out vod-sim]
// --duration: how the player learns the film's duration (src/sim/sim-vod.ts): from the manifest
// (default; the box tells mpv, nothing of the file's end is read before the first frame), from the
// film's ends (a manifest without it: the box reads the last 64 KiB), or by mpv itself (the last
// 250,000 bytes). Told, the box holds download.playPrebufferMs of media before mpv starts.
// Prints a row per seed and their mean; writes bench-results/vod-sim.json (or --out's name).
import { DEFAULT_DOWNLOAD_CONFIG, type DownloadConfig } from '../../src/engine/download-config.js';
import { runVodScenario, VOD_FLASH_CROWD, type VodScenario } from '../../src/sim/vod-scenario.js';
import { arg } from './lib/bench-args.js';
import { machineInfo, printTable, writeResult } from './lib/report.js';

function downloadSets(): Partial<DownloadConfig> {
  const out: Record<string, number> = {};
  process.argv.forEach((a, i) => {
    if (a !== '--set') return;
    const m = /^download\.([A-Za-z]+)=(-?[0-9.]+)$/.exec(process.argv[i + 1] ?? '');
    if (!m) throw new Error(`--set takes download.NAME=NUMBER (got ${process.argv[i + 1]})`);
    if (!((m[1] as string) in DEFAULT_DOWNLOAD_CONFIG)) throw new Error(`--set: download.${m[1]} is no tunable`);
    out[m[1] as string] = Number(m[2]);
  });
  return out as Partial<DownloadConfig>;
}

function seedRange(spec: string): number[] {
  const [a, b] = spec.split('-').map(Number) as [number, number | undefined];
  return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i);
}

const DURATION = arg('duration', 'manifest');
if (DURATION !== 'manifest' && DURATION !== 'ends' && DURATION !== 'mpv') throw new Error(`--duration takes manifest, ends or mpv (got ${DURATION})`);

const base: Omit<VodScenario, 'seed'> = {
  ...VOD_FLASH_CROWD,
  viewers: Number(arg('viewers', String(VOD_FLASH_CROWD.viewers))),
  staggerMs: Number(arg('stagger-ms', String(VOD_FLASH_CROWD.staggerMs))),
  seedFactor: Number(arg('seed-x', String(VOD_FLASH_CROWD.seedFactor))),
  viewerFactor: Number(arg('viewer-x', String(VOD_FLASH_CROWD.viewerFactor))),
  watchMs: Number(arg('watch-s', String(VOD_FLASH_CROWD.watchMs / 1000))) * 1000,
  config: downloadSets(),
  duration: DURATION,
};
const OUT = arg('out', process.argv.includes('--set') || DURATION !== 'manifest' ? 'vod-sim-set' : 'vod-sim');
const seeds = seedRange(arg('seeds', '1-8'));

const f = (x: number | null, d = 2) => (x === null ? '-' : x.toFixed(d));
const rows = seeds.map((seed) => {
  const s = runVodScenario({ ...base, seed });
  if (process.env.VOD_DEBUG) console.log(`seed ${seed} stalls: ${s.viewers.map((v, i) => `#${i} ${v.stallsAt.map(([a, d]) => `${(a / 1000).toFixed(1)}+${(d / 1000).toFixed(1)}`).join(' ') || '-'}`).join('; ')}`);
  return { seed, ...s };
});
const mean = (k: 'stallRatioMean' | 'seedCopies' | 'speed') => rows.reduce((a, r) => a + r[k], 0) / rows.length;
const p50s = rows.flatMap((r) => (r.firstFrameP50Ms === null ? [] : [r.firstFrameP50Ms]));
const table = rows.map((r) => ({
  seed: String(r.seed),
  'no first frame': r.noFirstFrame,
  'first frame p50 s': f(r.firstFrameP50Ms === null ? null : r.firstFrameP50Ms / 1000),
  'first frame p95 s': f(r.firstFrameP95Ms === null ? null : r.firstFrameP95Ms / 1000),
  'stall ratio mean': `${f(100 * r.stallRatioMean)} %`,
  'stall ratio max': `${f(100 * r.stallRatioMax)} %`,
  stalls: r.stalls,
  'seed copies': f(r.seedCopies),
  'x real time': f(r.speed, 1),
}));
table.push({
  seed: 'mean',
  'no first frame': rows.reduce((a, r) => a + r.noFirstFrame, 0),
  'first frame p50 s': f(p50s.length ? p50s.reduce((a, b) => a + b, 0) / p50s.length / 1000 : null),
  'first frame p95 s': '',
  'stall ratio mean': `${f(100 * mean('stallRatioMean'))} %`,
  'stall ratio max': `${f(100 * Math.max(...rows.map((r) => r.stallRatioMax)))} %`,
  stalls: rows.reduce((a, r) => a + r.stalls, 0),
  'seed copies': f(mean('seedCopies')),
  'x real time': f(mean('speed'), 1),
});
console.log(`vod-sim: ${base.viewers} viewers ${base.staggerMs} ms apart, film ${base.mediaSeconds} s at ${base.mediaBps / 1000} kbit/s, seed uplink ${base.seedFactor}x, viewers ${base.viewerFactor}x, ${base.watchMs / 1000} s watched; duration from ${DURATION}, sets ${JSON.stringify(base.config)}`);
printTable(table);
writeResult(OUT, { machine: machineInfo(), params: base, rows: rows.map(({ viewers, ...r }) => ({ ...r, viewers })) });
