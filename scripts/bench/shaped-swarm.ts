// Live swarm behind shaped uplinks, in network namespaces (root only): a tracker and a source on an
// "internet" bridge, the source's uplink capped with tc tbf at 3x the stream's measured rate, and N
// boxes each in its own namespace with a tbf-shaped uplink (most at 1.5-3x the stream, one or two
// below 1x; a `latency 400ms` queue like a home router's). A generated ffmpeg stream is published
// live; after a warm-up, the figures of the measured window are read from every box's control socket.
// The same swarm without any shaping runs beside it for comparison.
//
//   node esbuild.config.mjs && npx tsx scripts/bench/shaped-swarm.ts [--boxes 8] [--seconds 60]
//        [--warmup 20] [--unshaped both|no|only] [--stream-kbps 800] [--set live.substreams=4 ...]
//        [--out shaped-swarm]
//
// --set goes to every process (tracker, source, boxes), e.g. to measure pushed sub-streams.
// Prints a table per box and a summary per run; writes bench-results/<out>.json.
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestStream } from '../../test/support/media.js';
import { netnsAvailable, removeStaleLabs } from '../../test/support/netns.js';
import { tempDir } from '../../test/support/processes.js';
import { ShapedSwarm, windowFigures, type BoxFigures, type RunSummary } from '../../test/support/shaped-swarm.js';
import { machineInfo, printTable, writeResult } from './lib/report.js';
import { arg } from './lib/bench-args.js';

const BOXES = Math.min(20, Math.max(1, Number(arg('boxes', '8'))));
const MEASURE_S = Number(arg('seconds', '60'));
const WARMUP_S = Number(arg('warmup', '20'));
const UNSHAPED = arg('unshaped', 'both');
const STREAM_KBPS = Number(arg('stream-kbps', '800'));
const SOURCE_FACTOR = 3;
const OUT = arg('out', 'shaped-swarm');
const SETS = process.argv.flatMap((a, i) => (a === '--set' && process.argv[i + 1] ? ['--set', process.argv[i + 1] as string] : []));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  label: string;
  rows: BoxFigures[];
  summary: RunSummary;
}

async function run(shaped: boolean, input: string, streamBps: number): Promise<Run> {
  const label = shaped ? 'shaped' : 'unshaped';
  const dir = tempDir(`sd-shaped-${label}-`);
  const sw = new ShapedSwarm({ shaped, boxes: BOXES, streamBps, sourceFactor: SOURCE_FACTOR, input, channel: 'shaped', dir, extraArgs: SETS });
  try {
    await sw.start();
    process.stderr.write(`shaped-swarm: ${label}: ${BOXES} boxes started; ${WARMUP_S} s warm-up, ${MEASURE_S} s measured...\n`);
    await sleep(WARMUP_S * 1000);
    const first = await sw.snapshot();
    const sendQ: number[] = [];
    while (Date.now() - first.at < MEASURE_S * 1000) {
      await sleep(Math.min(5000, MEASURE_S * 1000 - (Date.now() - first.at)));
      sendQ.push(sw.sourceKernelSendQ());
    }
    const last = await sw.snapshot();
    last.boxes.forEach((s, i) => {
      if (!s) process.stderr.write(`box${i + 1} gave no status; its output:\n${sw.boxes[i]?.output()}\n`);
    });
    const { rows, summary } = windowFigures(first, last, shaped ? sw.uplinks : sw.uplinks.map(() => null), streamBps);
    summary.sourceSendQMaxKB = Math.round(Math.max(0, ...sendQ) / 1024);
    return { label, rows, summary };
  } finally {
    await sw.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (!netnsAvailable()) {
  console.error('shaped-swarm needs root with ip and tc (network namespaces and tc tbf)');
  process.exit(2);
}
removeStaleLabs();
const mediaDir = tempDir('sd-shaped-media-');
const STREAM_S = 60;
const input = makeTestStream({ seconds: STREAM_S, bitrateKbps: STREAM_KBPS, path: join(mediaDir, 'input.ts') });
const streamBps = (statSync(input).size * 8) / STREAM_S;
const runs: Run[] = [];
try {
  if (UNSHAPED !== 'only') runs.push(await run(true, input, streamBps));
  if (UNSHAPED !== 'no') runs.push(await run(false, input, streamBps));
} finally {
  rmSync(mediaDir, { recursive: true, force: true });
}

const f = (v: number | null, d: number) => (v === null || !Number.isFinite(v) ? '-' : v.toFixed(d));
console.log(`\nlive swarm behind shaped uplinks: stream ${(streamBps / 1e6).toFixed(3)} Mbit/s measured, source uplink ${SOURCE_FACTOR}x, ${BOXES} boxes, ${MEASURE_S} s measured after ${WARMUP_S} s`);
for (const r of runs) {
  console.log(`\n${r.label}:`);
  printTable(
    r.rows.map((b) => ({
      box: b.box,
      'uplink x': b.uplinkFactor === null ? 'none' : b.uplinkFactor.toFixed(2),
      continuity: f(b.continuity, 3),
      due: b.chunksDue,
      'lag s': f(b.lagMs === null ? null : b.lagMs / 1000, 1),
      'KB in': b.chunkKBIn,
      'KB out': b.chunkKBOut,
      'uplink used %': f(b.uplinkUsed === null ? null : 100 * b.uplinkUsed, 0),
      requests: b.requests,
      timeouts: b.timeouts,
      duplicates: b.duplicates,
      'refused to it': b.rejects,
      skipped: b.skipped,
      served: b.served,
      'it refused': b.refused,
      'send Mbit/s': f(b.sendRateBps === null ? null : b.sendRateBps / 1e6, 2),
      'send delay ms': f(b.sendDelayMs, 0),
    })),
  );
  const s = r.summary;
  console.log(
    `continuity mean ${f(s.continuityMean, 3)} min ${f(s.continuityMin, 3)} (boxes >= 1x: mean ${f(s.continuityMeanAtLeast1x, 3)} min ${f(s.continuityMinAtLeast1x, 3)}); ` +
      `source upload factor ${f(s.sourceUploadFactor, 2)}; box upload used ${f(s.uploadUsed === null ? null : 100 * s.uploadUsed, 0)}% of their uplinks; ` +
      `timeouts ${s.timeouts}, duplicates ${s.duplicates}; lag median ${f(s.lagMedianMs / 1000, 1)} s; source kernel Send-Q max ${s.sourceSendQMaxKB} KB; ` +
      `source refused ${s.sourceRefused} (budget ${s.sourceDeferred}), send window ${f(s.sourceRateBps === null ? null : s.sourceRateBps / 1e6, 2)} Mbit/s, delay ${f(s.sourceDelayMs, 0)} ms`,
  );
}
writeResult(OUT, { machine: machineInfo(), streamBps, sourceFactor: SOURCE_FACTOR, boxes: BOXES, measureS: MEASURE_S, warmupS: WARMUP_S, settings: SETS.filter((a) => a !== '--set'), runs });
