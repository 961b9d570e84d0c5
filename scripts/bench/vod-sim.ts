// The VoD benchmark's flash crowd (scripts/bench/vod.ts) in the simulator (src/sim/vod-scenario.ts):
// the same swarm, links and player behaviour in virtual time, over many seeds in a minute — what a
// scheduling change does to the first frame and the stall ratio, before it is confirmed on the
// namespace benchmark (whose single runs vary more than most changes move them).
//   npx tsx scripts/bench/vod-sim.ts [--seeds 1-8] [--viewers 10] [--stagger-ms 500] [--seed-x 3]
//       [--viewer-x 1.5] [--watch-s 60] [--start-buffer-ms 0] [--mpv-duration] [--tail-bytes N]
//       [--set download.NAME=N ...] [--out vod-sim]
// By default the box tells mpv the duration (player/told-duration.ts: it reads the file's last 64 KiB,
// the rate is known at once); --mpv-duration: mpv reads the last 250,000 bytes for it instead.
// --tail-bytes: the bytes of the file's end read before the first frame (0: none).
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

// --mpv-duration: mpv finds the duration itself, reading the file's last 250,000 bytes (the box
// fetching its last 256 KiB); --tail-bytes: the bytes of the end read before the first frame.
const MPV_DURATION = process.argv.includes('--mpv-duration');
const TAIL = arg('tail-bytes', '');
if (!/^[0-9]*$/.test(TAIL)) throw new Error(`--tail-bytes takes a whole number of bytes (got ${TAIL})`);
const tail = TAIL !== '' ? Number(TAIL) : MPV_DURATION ? 250_000 : undefined;

const base: Omit<VodScenario, 'seed'> = {
  ...VOD_FLASH_CROWD,
  viewers: Number(arg('viewers', String(VOD_FLASH_CROWD.viewers))),
  staggerMs: Number(arg('stagger-ms', String(VOD_FLASH_CROWD.staggerMs))),
  seedFactor: Number(arg('seed-x', String(VOD_FLASH_CROWD.seedFactor))),
  viewerFactor: Number(arg('viewer-x', String(VOD_FLASH_CROWD.viewerFactor))),
  watchMs: Number(arg('watch-s', String(VOD_FLASH_CROWD.watchMs / 1000))) * 1000,
  config: { ...VOD_FLASH_CROWD.config, ...(tail !== undefined ? { playTailBytes: MPV_DURATION && TAIL === '' ? 256 * 1024 : tail } : {}), ...downloadSets() },
  player: {
    ...VOD_FLASH_CROWD.player,
    startBufferMs: Number(arg('start-buffer-ms', '0')),
    ...(MPV_DURATION ? { toldDuration: false } : {}),
    ...(tail !== undefined ? { tailBytes: tail } : {}),
  },
};
const OUT = arg('out', process.argv.includes('--set') || TAIL !== '' || MPV_DURATION ? 'vod-sim-set' : 'vod-sim');
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
console.log(`vod-sim: ${base.viewers} viewers ${base.staggerMs} ms apart, film ${base.mediaSeconds} s at ${base.mediaBps / 1000} kbit/s, seed uplink ${base.seedFactor}x, viewers ${base.viewerFactor}x, ${base.watchMs / 1000} s watched; sets ${JSON.stringify(base.config)}`);
printTable(table);
writeResult(OUT, { machine: machineInfo(), params: base, rows: rows.map(({ viewers, ...r }) => ({ ...r, viewers })) });
