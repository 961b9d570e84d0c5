// Live swarm over real sockets on loopback: a tracker and a source (processes) and N nodes carrying a
// 1 Mbit/s ffmpeg-made H.264/AAC channel. N = 10 runs one process per node; larger N runs the nodes
// in two host processes (each node keeps its own TCP sockets). After a warm-up the figures of the
// measured window are read from every node's control socket.
//
//   npx tsx scripts/bench/live-swarm.ts [--sizes 10,50,100] [--seconds 60]
//
// Prints a table; writes bench-results/live-swarm.json and bench-results/live-swarm.svg.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlCall } from '../../src/control/control-client.js';
import type { Status } from '../../src/control/status.js';
import { lineChart } from './lib/plot.js';
import { machineInfo, printTable, writePlot, writeResult } from './lib/report.js';
import { arg } from './lib/bench-args.js';

const BUNDLE = fileURLToPath(new URL('../../dist/superdist.cjs', import.meta.url));
const HOST = fileURLToPath(new URL('./lib/swarm-host.ts', import.meta.url));
const SIZES = arg('sizes', '10,50,100').split(',').map(Number);
const MEASURE_S = Number(arg('seconds', '60'));
const WARMUP_S = 15;

const quantile = (xs: number[], q: number) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))] as number) : NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function poll(sock: string): Promise<Status | undefined> {
  // A host process with 50 nodes answers their status calls one after another: be patient, and
  // retry, so a slow answer is not mistaken for a node that received nothing.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return (await controlCall(sock, 'status', {}, 10_000)) as Status;
    } catch {
      await sleep(200);
    }
  }
  return undefined;
}

/** Status of every node, a few at a time (all at once would queue 50 calls on one host's loop). */
async function pollAll(socks: string[]): Promise<Array<Status | undefined>> {
  const out: Array<Status | undefined> = new Array(socks.length);
  const BATCH = 10;
  for (let i = 0; i < socks.length; i += BATCH) {
    const part = await Promise.all(socks.slice(i, i + BATCH).map(poll));
    part.forEach((s, k) => (out[i + k] = s));
  }
  return out;
}

function spawnBundle(dir: string, name: string, args: string[]): ChildProcess {
  return spawn(process.execPath, [BUNDLE, ...args, '--control', join(dir, `${name}.sock`), '--state-dir', join(dir, name), '--log-level', 'error'], { stdio: 'ignore' });
}

async function run(n: number, input: string): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), `sd-bench-${n}-`));
  const children: ChildProcess[] = [];
  try {
    children.push(spawnBundle(dir, 'tracker', ['tracker', '--listen', '127.0.0.1:0']));
    let t: Status | undefined;
    while (!(t = await poll(join(dir, 'tracker.sock')))) await sleep(100);
    const tracker = t.node.contact;
    children.push(spawnBundle(dir, 'source', ['publish', 'live', '--tracker', tracker, '--channel', 'bench', '--input', input, '--loop', '--listen', '127.0.0.1:0']));
    while (!((await poll(join(dir, 'source.sock')))?.contents[0]?.source?.chunks)) await sleep(100);
    const socks: string[] = [];
    if (n <= 10) {
      for (let i = 0; i < n; i++) {
        children.push(spawnBundle(dir, `n${i}`, ['node', '--tracker', tracker, '--listen', '127.0.0.1:0', '--watch', 'bench', '--player', 'none']));
        socks.push(join(dir, `n${i}.sock`));
      }
    } else {
      const hosts = 2;
      for (let h = 0; h < hosts; h++) {
        const count = Math.ceil(n / hosts) - (h === hosts - 1 ? Math.ceil(n / hosts) * hosts - n : 0);
        const child = spawn(process.execPath, ['--import', 'tsx', HOST, dir, `h${h}n`, String(count), tracker, 'bench'], { stdio: ['ignore', 'pipe', 'inherit'] });
        children.push(child);
        for (let i = 0; i < count; i++) socks.push(join(dir, `h${h}n${i}.sock`));
      }
    }
    await sleep(WARMUP_S * 1000);
    const first = await pollAll(socks);
    const src0 = await poll(join(dir, 'source.sock'));
    await sleep(MEASURE_S * 1000);
    const last = await pollAll(socks);
    const src1 = await poll(join(dir, 'source.sock'));

    const cont: number[] = [];
    const startup: number[] = [];
    const lag95: number[] = [];
    let ctl = 0;
    let all = 0;
    let rss = 0;
    let notJoined = 0;
    last.forEach((s, i) => {
      const a = first[i]?.contents[0];
      const b = s?.contents[0];
      if (!b) {
        // No status after three patient tries, or the channel never joined: a node that played nothing.
        notJoined++;
        cont.push(0);
        return;
      }
      const due = (b.chunksDue ?? 0) - (a?.chunksDue ?? 0);
      const ok = (b.chunksOnTime ?? 0) - (a?.chunksOnTime ?? 0);
      cont.push(due > 0 ? ok / due : 0);
      if (b.startupDelayMs !== null && b.startupDelayMs !== undefined) startup.push(b.startupDelayMs);
      if (b.lagP95Ms !== null && b.lagP95Ms !== undefined) lag95.push(b.lagP95Ms);
      ctl += (b.controlBytesIn ?? 0) + (b.controlBytesOut ?? 0) - (a?.controlBytesIn ?? 0) - (a?.controlBytesOut ?? 0);
      all += (b.bytesIn ?? 0) + (b.bytesOut ?? 0) - (a?.bytesIn ?? 0) - (a?.bytesOut ?? 0);
      rss = Math.max(rss, s?.memory.rssBytes ?? 0);
    });
    const sa = src0?.contents[0];
    const sb = src1?.contents[0];
    const streamBytes = (sb?.source?.streamBytes ?? 0) - (sa?.source?.streamBytes ?? 0);
    const upload = (sb?.chunkBytesOut ?? 0) - (sa?.chunkBytesOut ?? 0);
    return {
      nodes: n,
      continuityMean: cont.reduce((x, y) => x + y, 0) / cont.length,
      continuityMin: Math.min(...cont),
      nodesBelow099: cont.filter((c) => c < 0.99).length,
      startupP50Ms: quantile(startup, 0.5),
      startupP95Ms: quantile(startup, 0.95),
      lagP95Ms: quantile(lag95, 0.95),
      sourceUploadFactor: streamBytes > 0 ? upload / streamBytes : NaN,
      controlOverhead: all > 0 ? ctl / all : NaN,
      maxProcessRssMiB: rss / 1024 / 1024,
      notJoined,
    };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await sleep(1500);
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const mediaDir = mkdtempSync(join(tmpdir(), 'sd-bench-media-'));
const input = join(mediaDir, 'input.ts');
const ff = spawnSync('ffmpeg', [
  '-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine',
  '-t', '60', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0',
  '-b:v', '736k', '-maxrate', '736k', '-bufsize', '736k', '-c:a', 'aac', '-b:a', '64k', '-f', 'mpegts', '-muxrate', '1000k', input,
]);
if (ff.status !== 0) throw new Error(`ffmpeg failed: ${ff.stderr}`);

const rows: Record<string, number>[] = [];
for (const n of SIZES) {
  process.stderr.write(`live-swarm: N = ${n} (${WARMUP_S} s warm-up + ${MEASURE_S} s measured)...\n`);
  rows.push(await run(n, input));
}
rmSync(mediaDir, { recursive: true, force: true });
const fmt = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : '-');
console.log(`\nlive swarm over loopback, 1 Mbit/s, ${MEASURE_S} s measured after ${WARMUP_S} s — targets: continuity >= 0.995, startup p50 <= 1500 ms, lag p95 <= 5000 ms, source upload factor <= 1.5 at N=50, control overhead <= 2%`);
printTable(
  rows.map((r) => ({
    N: r.nodes as number,
    'continuity mean': fmt(r.continuityMean as number, 4),
    'continuity min': fmt(r.continuityMin as number, 4),
    'nodes < 0.99': r.nodesBelow099 as number,
    'not joined': r.notJoined as number,
    'startup p50 ms': fmt(r.startupP50Ms as number, 0),
    'startup p95 ms': fmt(r.startupP95Ms as number, 0),
    'lag p95 ms': fmt(r.lagP95Ms as number, 0),
    'source upload factor': fmt(r.sourceUploadFactor as number, 2),
    'control overhead %': fmt(100 * (r.controlOverhead as number), 2),
    'max process RSS MiB': fmt(r.maxProcessRssMiB as number, 0),
  })),
);
writeResult('live-swarm', { machine: machineInfo(), streamKbps: 1000, measureS: MEASURE_S, warmupS: WARMUP_S, rows });
writePlot(
  'live-swarm',
  lineChart({
    title: 'live swarm on loopback (1 Mbit/s)',
    xLabel: 'nodes',
    yLabel: 'continuity (mean) / lag p95 (s)',
    series: [
      { name: 'continuity mean', points: rows.map((r) => [r.nodes as number, r.continuityMean as number]) },
      { name: 'lag p95 (s)', points: rows.map((r) => [r.nodes as number, (r.lagP95Ms as number) / 1000]) },
    ],
  }),
);
